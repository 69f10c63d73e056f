"""Log streams kept as files: what jobs and model workers write, and what CloudWatch Logs operations read.

A stream is one file of JSON lines, `{"t": <epoch milliseconds>, "m": "<message>"}`, appended to and flushed a
line at a time, so that a reader sees each line whole or not at all (a last line without its newline is still
being written and is left for the next read). Streams live under `<home>/logs/<account>/<region>/`, in one folder
per log group, named as SageMaker names them:

    processing-jobs/<job name>/algo-<n>-<epoch seconds>.jsonl   group /aws/sagemaker/ProcessingJobs
    endpoints/<endpoint name>/<variant name>/<instance>.jsonl   group /aws/sagemaker/Endpoints/<endpoint name>

The stream's name is its path under the group's folder without `.jsonl` (`<job>/algo-1-1764576000`,
`AllTraffic/i-...`). Timestamps come from the clock the writer is given: the server's, so that in clock-file mode
the logs tell the time the schedules run on.
"""

from __future__ import annotations

import hashlib
import io
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

SUFFIX = ".jsonl"
PROCESSING_JOBS = "processing-jobs"
ENDPOINTS = "endpoints"


def account_folder(home: Path, account: str, region: str) -> Path:
    """Where an account's streams in a region live."""
    return home / "logs" / account / region


def job_stream(home: Path, account: str, region: str, job: str, started: float, instance: int = 1) -> Path:
    """The file of a processing job's stream `<job>/algo-<instance>-<epoch seconds it started>`."""
    return account_folder(home, account, region) / PROCESSING_JOBS / job / f"algo-{instance}-{int(started)}{SUFFIX}"


def instance_id(endpoint_arn: str, variant: str, index: int) -> str:
    """A worker's instance id as an endpoint's stream names it (`i-` and 17 hex digits, as EC2's): stable for the
    same endpoint, variant and worker, so a restarted server writes on in the same stream."""
    digest = hashlib.sha256(f"{endpoint_arn}\0{variant}\0{index}".encode()).hexdigest()
    return f"i-{digest[:17]}"


def endpoint_stream(home: Path, account: str, region: str, endpoint: str, variant: str, instance: str) -> Path:
    """The file of an endpoint's stream `<variant>/<instance>`."""
    return account_folder(home, account, region) / ENDPOINTS / endpoint / variant / f"{instance}{SUFFIX}"


class LogWriter:
    """Appends timestamped lines to one stream file (thread-safe; one line per write, flushed at once)."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # open for the writer's life, closed by close()
        self._lock = threading.Lock()

    def __call__(self, message: str, at: float | None = None) -> None:
        """Write `message` as one event, timestamped `at` (epoch seconds; default now)."""
        line = orjson.dumps({"t": int((self.clock() if at is None else at) * 1000), "m": message}) + b"\n"
        with self._lock:
            self._file.write(line)

    def close(self) -> None:
        """Close the file; later writes fail."""
        with self._lock:
            self._file.close()


class _Lines(io.TextIOBase):
    """A text stream that writes each completed line to a LogWriter (for sys.stdout / sys.stderr)."""

    def __init__(self, writer: LogWriter) -> None:
        self.writer = writer
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.writer(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.writer(self._pending)
            self._pending = ""


def capture_output(writer: LogWriter) -> tuple[TextIO, TextIO]:
    """Send this process's `print`s and Python-level stderr (tracebacks, warnings, logging) to `writer`, as a
    container's stdout and stderr go to its log stream; returns the previous streams."""
    previous = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _Lines(writer)
    return previous


@dataclass(frozen=True)
class Event:
    """One logged line: when (epoch milliseconds) and what."""

    timestamp: int
    message: str


@dataclass(frozen=True)
class Stream:
    """A stream's name in its group, and its file."""

    name: str
    path: Path

    def events(self) -> list[Event]:
        """Every complete event of the stream, in the order written (a partial last line is left out)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        events = []
        for line in complete.splitlines():
            try:
                record: Any = orjson.loads(line)
                events.append(Event(int(record["t"]), str(record["m"])))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line damaged by a crash is dropped, never the whole stream
        return events

    def modified(self) -> int:
        """When the stream was last written, in epoch milliseconds (the file's time)."""
        return int(self.path.stat().st_mtime * 1000)


def streams(folder: Path) -> list[Stream]:
    """The streams of a group's folder (files one folder deep, named by their relative path), sorted by name."""
    if not folder.is_dir():
        return []
    found = [Stream(path.relative_to(folder).as_posix()[: -len(SUFFIX)], path) for path in folder.glob("*/*" + SUFFIX)]
    return sorted(found, key=lambda s: s.name)
