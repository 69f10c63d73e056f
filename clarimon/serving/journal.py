"""An append-only journal of lines in a folder of its own, in segments that are sealed and then consumed.

A line is handed to the kernel with one `write` on an `O_APPEND` file before `append` returns, so a process
killed at any moment afterwards (even `kill -9`) leaves it on disk; only a machine crash may lose what the page
cache had not written yet. `seal()` closes the segment being written and returns every sealed one (a dead
predecessor's too: a restart replays them); whoever consumes a segment removes it when its lines are safe.
"""

from __future__ import annotations

import datetime
import os
import threading
import uuid
from pathlib import Path

SUFFIX = ".journal"


class Journal:
    """The segments under `folder`; one process appends to it at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None

    def append(self, line: bytes) -> Path:
        """Write one whole line (ending in a newline) to the open segment, opening one if needed; the segment."""
        with self._lock:
            if self._fd is None or self._path is None:
                self._path = self.folder / _segment_name()
                self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            written = os.write(self._fd, line)
            if written != len(line):  # a regular file takes the whole write unless the disk is full
                raise OSError(f"the capture journal took {written} of {len(line)} bytes (is the disk full?)")
            return self._path

    def seal(self) -> list[Path]:
        """Close the segment being written; every sealed segment, oldest first."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd, self._path = None, None
            return sorted(self.folder.glob(f"*{SUFFIX}"))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd, self._path = None, None


def _segment_name() -> str:
    # Sorting by name is sorting by age; the random part keeps two segments of one microsecond apart.
    return f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}{SUFFIX}"


def stamp(segment: Path) -> str:
    """What a segment's name says of its creation (`MM-SS-ffffff-<random>`), to name what is made from it."""
    moment, _, random = segment.name.removesuffix(SUFFIX).partition("-")
    return f"{moment[11:13]}-{moment[13:15]}-{moment[15:21]}-{random}"
