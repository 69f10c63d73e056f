"""model.tar.gz: checked, unpacked by a child process within limits, kept while a model uses it, then removed.

Only gzip-compressed tar archives are taken, as SageMaker requires of `ModelDataUrl` and of a
`SAGEMAKER_SUBMIT_DIRECTORY` archive: an uncompressed tar would let a file whose first bytes a caller shapes (a
capture file, whose content type a request chooses) pass for a model with code in it.

An archive is unpacked by a child process (`python -m clarimon.serving.artifacts`), never by the server's own
threads: a gzip bomb or a million-member archive costs that child, which stops at the first limit passed
(`Limits`: compressed size, unpacked size, member count; `--archive-max-*`). Members are refused, with the member
named, when they would land outside the model's folder: absolute names, `..`, links that point out (a symbolic
link may only point below its own folder, so no chain of links can leave), devices and other special files.

The unpacked folder is keyed by the archive's digest and shared by every model that uses the same bytes. A user
holds a `Lease` (a shared `flock` on `<digest>.lock`, held by the server process, released by the kernel if it
dies); the last one to let go removes the folder, and `sweep` removes what nobody holds (after a restart).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import regex

log = logging.getLogger("clarimon.artifacts")

GZIP_MAGIC = b"\x1f\x8b"
MB = 1024 * 1024
UNPACK_SECONDS = 600  # a child still unpacking after this is killed; the archive is refused
REFUSED = 3  # the child's exit status for an archive it refuses (its reason on stdout)
SHOWN = 100  # characters of a member's name or link target echoed in an error
_DIGEST = regex.compile(r"[0-9a-f]{32}")
_REMOVE_ATTEMPTS = 5
_STAGING_SECONDS = 3600  # a staging folder this old is a dead unpacker's leftover


class ArtifactError(ValueError):
    """A model artifact that cannot be used; the message names the archive (as the caller named it) and why,
    never a path of the server."""


@dataclass(frozen=True)
class Limits:
    """How large a model archive may be: its compressed bytes, the bytes of its files once unpacked, and its
    members (files, folders, links)."""

    compressed_bytes: int = 512 * MB
    unpacked_bytes: int = 2048 * MB
    members: int = 10_000


def check(data: bytes, name: str, limits: Limits) -> None:
    """ArtifactError unless `data` could be a model archive: gzip-compressed, within the compressed limit."""
    gzip_only(data, name)
    too_large(len(data), name, limits)


def gzip_only(data: bytes, name: str) -> None:
    """ArtifactError unless `data` is gzip-compressed (checked before any cached folder is used: a folder unpacked
    by an older server is not taken either)."""
    if not data.startswith(GZIP_MAGIC):
        raise ArtifactError(f"{name}: not a gzip-compressed tar archive (model.tar.gz); SageMaker takes no other")


def too_large(size: int, name: str, limits: Limits) -> None:
    """ArtifactError when an archive of `size` compressed bytes is over the limit (checked before it is read)."""
    if size > limits.compressed_bytes:
        raise ArtifactError(f"{name}: the archive is {_mb(size)}, more than the {_mb(limits.compressed_bytes)} "
                            "a model archive may be (--archive-max-mb)")


def unpack(data: bytes, cache: Path, name: str, limits: Limits = Limits()) -> Path:
    """The folder holding the unpacked archive `data` (named `name` in errors), keyed by its digest; unpacked by a
    child process unless the folder is there already (a model worker finds its server's, unpacked within the
    server's limits). Nothing holds it: see `lease` for a folder kept while used."""
    gzip_only(data, name)
    folder = cache / _digest(data)
    if not folder.is_dir():
        too_large(len(data), name, limits)
        _unpack_into(data, folder, name, limits)
    return folder


class Lease:
    """A hold on an unpacked folder: while any lease on it is held, no `release` or `sweep` removes it."""

    def __init__(self, folder: Path, handle: int) -> None:
        self.folder = folder
        self._handle: int | None = handle

    def release(self) -> None:
        """Let go of the folder; the last holder removes it (a second call does nothing)."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        os.close(handle)  # drops this lease's shared lock
        _remove_unheld(self.folder)


def lease(data: bytes, cache: Path, name: str, limits: Limits = Limits()) -> Lease:
    """The unpacked archive `data`, held until the lease is released (unpacked by a child process when no one
    holds it yet)."""
    check(data, name, limits)
    digest = _digest(data)
    cache.mkdir(parents=True, exist_ok=True)
    handle = _hold(cache / f"{digest}.lock")
    try:
        folder = cache / digest
        if not folder.is_dir():
            _unpack_into(data, folder, name, limits)
    except BaseException:
        os.close(handle)
        _remove_unheld(cache / digest)
        raise
    return Lease(folder, handle)


def sweep(cache: Path) -> int:
    """Remove every unpacked folder no process holds, and staging folders of unpackers that died; the count of
    folders removed."""
    if not cache.is_dir():
        return 0
    removed = 0
    for entry in cache.iterdir():
        if _DIGEST.fullmatch(entry.name) and entry.is_dir():
            removed += _remove_unheld(entry)
        elif entry.name.startswith(".unpack-") and time.time() - entry.stat().st_mtime > _STAGING_SECONDS:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.endswith(".lock") and not (cache / entry.name[:-5]).exists():
            _remove_unheld(cache / entry.name[:-5])  # a lock left by an unpacking that failed: no folder to count
    return removed


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _hold(lock: Path) -> int:
    """A shared lock on `lock`, taken on the file that is at that path (a remover may unlink it meanwhile)."""
    while True:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(handle, fcntl.LOCK_SH)  # a remover holds its exclusive lock only while it removes
        try:
            if os.stat(lock).st_ino == os.fstat(handle).st_ino:
                return handle
        except FileNotFoundError:
            pass
        os.close(handle)  # removed while we waited: lock the new file


def _remove_unheld(folder: Path) -> int:
    """Remove `folder` (and its lock file) if no one holds a lease on it: 1 if removed, else 0."""
    lock = folder.with_name(f"{folder.name}.lock")
    try:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return 0
    try:
        for attempt in range(_REMOVE_ATTEMPTS):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Held by a user (the last one removes it), or for an instant by a process another thread forked
                # to exec a child (it shares our descriptors until its exec closes them): try again briefly.
                if attempt == _REMOVE_ATTEMPTS - 1:
                    return 0
                time.sleep(0.02)
        shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)  # before unlocking: a waiting holder then sees another inode and starts over
        return 1
    finally:
        os.close(handle)


def _unpack_into(data: bytes, folder: Path, name: str, limits: Limits) -> None:
    """Unpack `data` into `folder`: into a staging folder by a child process, then renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpack-"))
    try:
        _run_child(data, staging, name, limits)
        try:
            os.rename(staging, folder)
        except OSError:  # another process unpacked the same archive first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _run_child(data: bytes, staging: Path, name: str, limits: Limits) -> None:
    """`python -m clarimon.serving.artifacts` unpacks `data` into `staging`; ArtifactError with its reason."""
    command = [sys.executable, "-m", "clarimon.serving.artifacts", str(staging), str(limits.unpacked_bytes),
               str(limits.members)]
    # Its own folder as the working directory (`-m` puts it first on sys.path), an environment without the
    # server's variables: the child needs only to find Python and clarimon.
    environment = {key: os.environ[key] for key in ("PATH", "PYTHONPATH", "LANG") if key in os.environ}
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=UNPACK_SECONDS, cwd=staging,
                              env=environment, check=False)
    except subprocess.TimeoutExpired:
        raise ArtifactError(f"{name}: unpacking took longer than {UNPACK_SECONDS} s; the archive was refused") from None
    if done.returncode == REFUSED:
        raise ArtifactError(f"{name}: {done.stdout.decode(errors='replace').strip()}")
    if done.returncode != 0:
        log.warning("archive unpacker failed name=%s status=%s stderr=%s", name, done.returncode,
                    done.stderr.decode(errors="replace")[-2000:])
        raise ArtifactError(f"{name}: the archive could not be unpacked (the unpacker ended with status "
                            f"{done.returncode}; see the server's log)")


def extract(data: bytes, folder: Path, limits: Limits) -> None:
    """Unpack the gzip-compressed tar `data` into the empty `folder`, member by member; ArtifactError (naming the
    member, never `folder`) at the first member or limit refused. What the child process runs."""
    admit = _Admission(limits)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(folder, filter=admit)
    except ArtifactError:
        raise
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise ArtifactError(f"not a readable model.tar.gz ({type(error).__name__}: {error})") from None
    except OSError as error:  # writing failed (the disk, a file over the size limit): its reason, not its path
        raise ArtifactError(f"cannot be unpacked: {error.strerror or type(error).__name__}") from None


class _Admission:
    """The extraction filter: counts members and bytes, refuses what would leave the folder, then applies
    tarfile's "data" filter (safe modes, no owners) as a second guard."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.members = 0
        self.bytes = 0

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        self.members += 1
        if self.members > self.limits.members:
            raise ArtifactError(f"the archive has more than {self.limits.members} members, the most a model archive "
                                "may have (--archive-max-members)")
        shown = _shown(member.name)
        if _leaves(PurePosixPath(member.name)):
            raise ArtifactError(f"member {shown} has an absolute path or '..': it would land outside the model's "
                                "folder")
        if member.issym():
            # Below its own folder only: a link to '..' could, by way of other links, lead anywhere.
            if member.linkname.startswith("/") or ".." in PurePosixPath(member.linkname).parts:
                raise ArtifactError(f"member {shown} is a symbolic link to {_shown(member.linkname)}: a link in a "
                                    "model archive may only point below its own folder")
        elif member.islnk():
            if _leaves(PurePosixPath(member.linkname)):
                raise ArtifactError(f"member {shown} is a hard link to {_shown(member.linkname)}, outside the "
                                    "model's folder")
        elif not (member.isreg() or member.isdir()):
            raise ArtifactError(f"member {shown} is a device, pipe or other special file, which a model archive "
                                "may not hold")
        if member.isreg():
            self.bytes += member.size
            if self.bytes > self.limits.unpacked_bytes:
                raise ArtifactError(f"the archive unpacks to more than {_mb(self.limits.unpacked_bytes)}, the most "
                                    "a model archive may hold (--archive-max-unpacked-mb)")
        try:
            return tarfile.data_filter(member, destination)
        except tarfile.FilterError:
            raise ArtifactError(f"member {shown} would land outside the model's folder") from None


def _leaves(path: PurePosixPath) -> bool:
    return path.is_absolute() or ".." in path.parts


def _shown(text: str) -> str:
    """A member's name as errors echo it: quoted, cut to SHOWN characters."""
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "...")


def _mb(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= MB else f"{size} bytes"


def pack(files: dict[str, Path]) -> bytes:
    """A model.tar.gz of `files` (archive name -> local file)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for arcname, path in sorted(files.items()):
            archive.add(path, arcname=arcname)
    return out.getvalue()


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except ArtifactError as error:
        print(error, flush=True)
        raise SystemExit(REFUSED) from None


def _main(arguments: list[str]) -> None:
    """The child: unpack the archive on stdin into the folder `arguments[0]` within the limits given."""
    folder, unpacked, members = Path(arguments[0]), int(arguments[1]), int(arguments[2])
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # No file may outgrow the whole budget, whatever the headers claim (Python ignores SIGXFSZ: a write fails).
    resource.setrlimit(resource.RLIMIT_FSIZE, (unpacked if hard == resource.RLIM_INFINITY else min(unpacked, hard),
                                               hard))
    with _refusals():
        extract(sys.stdin.buffer.read(), folder, Limits(unpacked_bytes=unpacked, members=members))


if __name__ == "__main__":
    _main(sys.argv[1:])
