"""Objects behind `s3://bucket/key` URIs: a local folder, `<home>/s3/<bucket>/<key>`."""

from clarimon.objects.local import LocalObjects, ObjectError, read_location

__all__ = ["LocalObjects", "ObjectError", "read_location"]
