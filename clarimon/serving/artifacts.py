"""model.tar.gz: unpacked once into a folder of its own, refusing members that would land outside it.

Only gzip-compressed tar archives are taken, as SageMaker requires of `ModelDataUrl` and of a
`SAGEMAKER_SUBMIT_DIRECTORY` archive: an uncompressed tar would let a file whose first bytes a caller shapes (a
capture file, whose content type a request chooses) pass for a model with code in it.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"


class ArtifactError(ValueError):
    """A model artifact that cannot be unpacked; the message names it."""


def unpack(data: bytes, cache: Path, name: str) -> Path:
    """The folder holding the unpacked archive `data` (named `name` in errors), keyed by its digest."""
    if not data.startswith(GZIP_MAGIC):  # before the cache: a folder unpacked by an older server is not taken either
        raise ArtifactError(f"{name}: not a gzip-compressed tar archive (model.tar.gz); SageMaker takes no other")
    folder = cache / hashlib.sha256(data).hexdigest()[:32]
    if folder.is_dir():
        return folder
    cache.mkdir(parents=True, exist_ok=True, mode=0o711)  # passed through by model workers, never listed
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".unpack-"))
    try:
        staging.chmod(0o755)  # a worker running as --worker-user reads its model (its name is its digest)
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                archive.extractall(staging, filter="data")  # refuses absolute paths, '..', links out, devices
        except (tarfile.TarError, OSError) as error:
            raise ArtifactError(f"{name}: not a readable model.tar.gz ({error})") from None
        try:
            os.rename(staging, folder)
        except OSError:  # another process unpacked the same archive first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def pack(files: dict[str, Path]) -> bytes:
    """A model.tar.gz of `files` (archive name -> local file)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for arcname, path in sorted(files.items()):
            archive.add(path, arcname=arcname)
    return out.getvalue()
