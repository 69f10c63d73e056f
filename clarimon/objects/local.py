"""`s3://bucket/key` as `<root>/bucket/key`; writes appear atomically (written aside, then renamed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import regex

_URI = regex.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.*)")


class ObjectError(ValueError):
    """A URI that is not an object's, or an object that is not there."""


class LocalObjects:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        """Where the object lives on disk; refuses keys that would climb out of the bucket."""
        found = _URI.fullmatch(uri)
        if found is None:
            raise ObjectError(f"{uri}: not an s3://bucket/key URI")
        bucket, key = found.group(1), found.group(2)
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ObjectError(f"{uri}: '.' and '..' are not allowed in keys")
        return self.root.joinpath(bucket, *parts)

    def read(self, uri: str) -> bytes:
        path = self.path(uri)
        if not path.is_file():
            raise ObjectError(f"{uri}: no such object (looked for {path})")
        return path.read_bytes()

    def write(self, uri: str, data: bytes) -> None:
        path = self.path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def read_location(location: str, home: Path) -> bytes:
    """The bytes at a local path or an s3:// URI (in `<home>/s3`)."""
    if location.startswith("s3://"):
        return LocalObjects(home / "s3").read(location)
    path = Path(location)
    if not path.is_file():
        raise ObjectError(f"{location}: no such file")
    return path.read_bytes()
