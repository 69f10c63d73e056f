"""Objects behind `s3://bucket/key` URIs: `<home>/s3/<bucket>/<key>` by default, or an S3-compatible server."""

from pathlib import Path

from clarimon.objects.local import LocalObjects, ObjectError, Objects, read_location, split
from clarimon.objects.s3 import S3Objects


def open_objects(home: Path, s3_endpoint_url: str | None) -> Objects:
    """The object store a process is configured with."""
    return S3Objects(s3_endpoint_url) if s3_endpoint_url else LocalObjects(home / "s3")


__all__ = ["LocalObjects", "ObjectError", "Objects", "S3Objects", "open_objects", "read_location", "split"]
