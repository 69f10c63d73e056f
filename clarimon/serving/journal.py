"""An append-only journal of lines in a folder of its own, in segments that are sealed and then consumed.

Each stream (any name, such as a capture folder `s3://bucket/prefix/endpoint/variant/2026/11/25/10`) has its
own segment at a time, in a folder of its own under the journal's folder (named by a hash of the stream, whose
name it keeps in a file written before its first segment), so a sealed segment holds exactly its stream's lines
and can become a file of its own (capture: renamed into place, no copy). A line is handed to the kernel
with one `write` on an `O_APPEND` file before `append` returns, so a process killed at any moment afterwards
(even `kill -9`) leaves it on disk; only a machine crash may lose what the page cache had not written yet.
`seal()` closes the segments being written and returns every sealed one (a dead predecessor's too: a restart
replays them); whoever consumes a segment `release`s it when its lines are safe.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import threading
import uuid
from pathlib import Path

SUFFIX = ".journal"
STREAM = "STREAM"  # in a stream's folder: the stream's name


class Journal:
    """The segments under `folder`; one process appends to it at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._open: dict[str, tuple[int, Path]] = {}  # stream -> the descriptor and path of its segment

    def append(self, stream: str, line: bytes) -> Path:
        """Write one whole line (ending in a newline) to the stream's open segment, opening one if needed; the
        segment."""
        with self._lock:
            opened = self._open.get(stream)
            if opened is None:
                folder = self.folder / hashlib.blake2b(stream.encode(), digest_size=10).hexdigest()
                if not (folder / STREAM).is_file():  # the stream's name, on disk before any of its lines
                    folder.mkdir(exist_ok=True)
                    (folder / f".{STREAM}").write_text(stream)
                    os.replace(folder / f".{STREAM}", folder / STREAM)
                path = folder / _segment_name()
                opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), path
                self._open[stream] = opened
            written = os.write(opened[0], line)
            if written != len(line):  # a regular file takes the whole write unless the disk is full
                raise OSError(f"the capture journal took {written} of {len(line)} bytes (is the disk full?)")
            return opened[1]

    def seal(self) -> list[Path]:
        """Close the segments being written; every sealed segment, oldest first."""
        with self._lock:
            self._close()
            return sorted(self.folder.rglob(f"*{SUFFIX}"), key=lambda path: path.name)

    def stream(self, segment: Path) -> str | None:
        """The stream a sealed segment belongs to; None for a segment at the top (journals of clarimon before
        streams: each line names its folder)."""
        if segment.parent == self.folder:
            return None
        return (segment.parent / STREAM).read_text()

    def release(self, segment: Path) -> None:
        """Remove a consumed segment (if still there), and its stream's folder once it holds no segment."""
        with self._lock:  # a stream's folder goes only while no append can be opening a segment in it
            segment.unlink(missing_ok=True)
            folder = segment.parent
            if folder == self.folder or any(folder.glob(f"*{SUFFIX}")):  # an open segment is on disk too
                return
            (folder / STREAM).unlink(missing_ok=True)
            (folder / f".{STREAM}").unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass

    def close(self) -> None:
        """Close the segments being written (they stay on disk, to be sealed and consumed)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        for fd, _ in self._open.values():
            os.close(fd)
        self._open.clear()


def _segment_name() -> str:
    # Sorting by name is sorting by age; the random part keeps two segments of one microsecond apart.
    return f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}{SUFFIX}"


def stamp(segment: Path) -> str:
    """What a segment's name says of its creation (`MM-SS-ffffff-<random>`), to name what is made from it."""
    moment, _, random = segment.name.removesuffix(SUFFIX).partition("-")
    return f"{moment[11:13]}-{moment[13:15]}-{moment[15:21]}-{random}"
