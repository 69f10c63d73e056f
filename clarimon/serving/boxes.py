"""Model code in a box: the environment, memory limit and user that a process running a model's code gets.

SageMaker runs model code in a container that holds nothing of the service's. clarimon runs no containers, so a
model's process gets what it can without one:

- an environment built from an allow list, never inherited whole: no `CLARIMON_*` setting (credentials, the
  database URL), no `AWS_*` key of the server's own; only PATH, the locale, the time zone, thread counts, a HOME
  and TMPDIR of its own, then the model's `Environment` from CreateModel, as SageMaker passes it;
- an address-space limit (RLIMIT_AS) of `--worker-memory-mb` beyond what its runtime's libraries already map,
  so that a model over it gets MemoryError (its request a ModelError, its worker replaced) instead of taking the
  host's memory. A cgroup would count resident memory instead; clarimon does not manage cgroups (it would need a
  delegated cgroup tree of its own);
- as root, another user (`--worker-user`, e.g. `nobody`): it cannot open the database file, the object folder
  or the credentials file, which `lock_down` and the operator keep to the server's user.
"""

from __future__ import annotations

import os
import pwd
import resource
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# What a model's process may inherit from the server's environment, as is: nothing that configures clarimon.
KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS")
KEPT_PREFIXES = ("LC_",)

BOXES = "boxes"  # the folder of the server's home where boxed processes get their HOME and TMPDIR

# The limit in force in this process (0: none), for the messages of a model that runs out of memory.
limit_mb = 0


class BoxError(ValueError):
    """A box that cannot be set up (an unknown user, a user that the server cannot switch to)."""


@dataclass(frozen=True)
class User:
    """An account that model processes run as."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Box:
    """What a model's process is given: `memory_mb` of address space beyond its runtime (0: unlimited) and the
    `user` it runs as (None: the server's)."""

    memory_mb: int = 0
    user: str | None = None

    def account(self) -> User | None:
        """The user to switch to, None to stay the server's; BoxError when it cannot be."""
        if self.user is None:
            return None
        try:
            entry = pwd.getpwnam(self.user) if not self.user.isdigit() else pwd.getpwuid(int(self.user))
        except KeyError:
            raise BoxError(f"--worker-user: there is no user {self.user!r} on this host") from None
        if entry.pw_uid == 0:
            raise BoxError("--worker-user: give an unprivileged user, not root")
        if entry.pw_uid == os.geteuid():
            return None
        if os.geteuid() != 0:
            raise BoxError(f"--worker-user {self.user}: the server must run as root to start processes as another "
                           "user")
        return User(entry.pw_name, entry.pw_uid, entry.pw_gid)


def environment(source: Mapping[str, str], home: Path, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment a boxed process starts with: the allowed names of `source` (`keep` too), and `home` as its
    TMPDIR and (unless `keep` names HOME) its HOME."""
    kept = {name: value for name, value in source.items()
            if name in KEPT or name in keep or name.startswith(KEPT_PREFIXES)}
    kept["TMPDIR"] = str(home)
    if "HOME" not in keep:
        kept["HOME"] = str(home)
    kept.setdefault("PATH", os.defpath)
    return kept


def make_home(user: User | None, parent: Path | None = None) -> Path:
    """A new private folder for boxed processes' HOME and TMPDIR, owned by `user`, in `parent` (else the system's
    temporary folder); the caller removes it."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True, mode=0o711)
    home = Path(tempfile.mkdtemp(prefix="box-" if parent else "clarimon-box-", dir=parent))
    if user is not None:
        os.chown(home, user.uid, user.gid)
    return home


def clear_homes(parent: Path) -> None:
    """Remove the boxes' folders a previous server left in `parent` (killed, it could not remove them)."""
    for folder in parent.glob("box-*"):
        shutil.rmtree(folder, ignore_errors=True)


def remove_home(home: Path) -> None:
    """Remove a folder made by make_home, with whatever the boxed processes left in it."""
    shutil.rmtree(home, ignore_errors=True)


def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at what it maps now plus `memory_mb` (0: no cap), soft and hard alike
    (an unprivileged process cannot raise it again)."""
    global limit_mb
    if memory_mb <= 0:
        return
    mapped = _mapped_bytes()
    cap = mapped + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    limit_mb = memory_mb


def _mapped_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def out_of_memory() -> str:
    """What a model that ran out of memory is told, naming the limit when there is one."""
    if limit_mb:
        return (f"the model ran out of memory: its worker may use {limit_mb} MB beyond its runtime "
                "(--worker-memory-mb)")
    return "the model ran out of memory"


def lock_down(home: Path, database_url: str) -> None:
    """Keep the server's files from other users (a model's process running as `--worker-user`): the home folder
    may be passed through but not listed, the object folder, capture journal and process records are the
    server's alone, and the SQLite database (with its WAL and shared-memory files, which SQLite creates with the
    database's mode) is read and written by the server's user only. Model folders stay readable: their workers
    load them, each named by its archive's digest (found only when known)."""
    if home.is_dir() and home.stat().st_uid == os.geteuid():
        home.chmod(0o711)
    for private in ("s3", "capture-journal", "processes"):
        folder = home / private
        if folder.is_dir() and folder.stat().st_uid == os.geteuid():
            folder.chmod(0o700)
    models = home / "models"
    if models.is_dir():
        models.chmod(0o711)
    if database_url.startswith("sqlite:///"):
        database = Path(database_url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
            if path.exists():
                path.chmod(0o600)


def readable_by_others(path: Path) -> bool:
    """Whether users other than its owner may read the file `path`."""
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def become(uid: int, gid: int) -> None:
    """Take the user `uid` and group `gid` for good (real, effective and saved ids; no supplementary groups)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
