"""`s3://bucket/key` as `<root>/bucket/key`; writes appear atomically (written aside, then renamed)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Protocol

import regex

_URI = regex.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.*)")


class ObjectError(ValueError):
    """A URI that is not an object's, or an object that is not there."""


class Objects(Protocol):
    """Where s3:// URIs are read and written: a local folder, or an S3-compatible server."""

    def read(self, uri: str) -> bytes:
        """The object's bytes; ObjectError when there is none."""
        ...

    def write(self, uri: str, data: bytes) -> None:
        """Store `data` at `uri`, whole (a reader never sees a part)."""
        ...

    def move_in(self, uri: str, path: Path) -> None:
        """Store the local file `path` at `uri`, whole, and remove the file."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The URIs of every object whose key starts with `prefix`'s key, in key order."""
        ...

    def size(self, uri: str) -> int:
        """The object's size in bytes (checked before reading a large one); ObjectError when there is none."""
        ...


def split(uri: str, *, prefix: bool = False) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI (`prefix`: the key may be empty); ObjectError when it is not one."""
    found = _URI.fullmatch(uri) or (_URI.fullmatch(uri + "/") if prefix else None)
    if found is None or not (found.group(2) or prefix):
        raise ObjectError(f"{uri}: not an s3://bucket/key URI")
    return found.group(1), found.group(2)


class LocalObjects:
    """`s3://bucket/key` as `<root>/bucket/key` on the local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        """Where the object lives on disk; refuses keys that would climb out of the bucket, and objects that a
        symbolic link leads out of the store (reported as missing: what lies outside is nobody's object)."""
        bucket, key = split(uri)
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ObjectError(f"{uri[:256]}: '.' and '..' are not allowed in keys")
        path = self.root.joinpath(bucket, *parts)
        if not self._inside(path):
            raise ObjectError(f"{uri[:256]}: no such object")
        return path

    def _inside(self, path: Path) -> bool:
        """Whether `path`, every link on the way followed, stays in the store."""
        return path.resolve().is_relative_to(self.root.resolve())

    def read(self, uri: str) -> bytes:
        """The file's bytes; ObjectError when there is none."""
        path = self.path(uri)
        if not path.is_file():
            raise ObjectError(f"{uri[:256]}: no such object")
        return path.read_bytes()

    def size(self, uri: str) -> int:
        """The object's size in bytes; ObjectError when there is none."""
        path = self.path(uri)
        if not path.is_file():
            raise ObjectError(f"{uri[:256]}: no such object")
        return path.stat().st_size

    def list(self, prefix: str) -> list[str]:
        """The URIs of the files under `prefix`, sorted (links leading out of the store are not followed)."""
        bucket, key = split(prefix, prefix=True)
        folder, _, start = key.rpartition("/")
        base = self.root.joinpath(bucket, *[p for p in folder.split("/") if p])
        if ".." in folder.split("/") or not base.is_dir() or not self._inside(base):
            return []
        found = []
        for path in base.rglob("*"):
            relative = path.relative_to(self.root / bucket).as_posix()
            # Files named with a leading dot are writes in progress (see `write`). rglob does not walk into linked
            # folders; a linked file is listed only when it stays in the store.
            if (path.is_file() and not path.name.startswith(".") and relative.startswith(key)
                    and (not path.is_symlink() or self._inside(path))):
                found.append(f"s3://{bucket}/{relative}")
        return sorted(found)

    def write(self, uri: str, data: bytes) -> None:
        """Write the file atomically (a temporary file renamed into place)."""
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


    def move_in(self, uri: str, path: Path) -> None:
        """Rename the file into place (no copy), once it is on disk; copied when it is on another file system."""
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as file:
            os.fsync(file.fileno())
        try:
            os.replace(path, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            self.write(uri, path.read_bytes())
            path.unlink()


def read_location(location: str, objects: Objects) -> bytes:
    """The bytes at a local path or an s3:// URI."""
    if location.startswith("s3://"):
        return objects.read(location)
    path = Path(location)
    if not path.is_file():
        raise ObjectError(f"{location}: no such file")
    return path.read_bytes()
