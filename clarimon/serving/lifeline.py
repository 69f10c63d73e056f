"""Child processes that end with the server that started them, however it ends (even `kill -9`).

Two means, because neither suffices alone: each child watches its parent and exits when it is gone
(`die_with_parent`), and the server records its children (`PROCESSES`) so that the next server started on the
same home ends those that could not watch (one stuck in native code that holds the interpreter lock).
The kernel's parent-death signal (prctl PR_SET_PDEATHSIG) is not used: it fires when the *thread* that started
the child ends, and clarimon starts workers from short-lived threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from pathlib import Path

log = logging.getLogger("clarimon.lifeline")


def die_with_parent() -> None:
    """Exit when the parent process dies: a thread waits on the parent's sentinel, then ends this process."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="clarimon-lifeline").start()


def started_at(pid: int) -> str | None:
    """The kernel's start time of process `pid` (clock ticks since boot), None when it is gone or a zombie; with
    the pid it names one process, since pids are reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields[19]


class Registry:
    """The processes a server started, one file per process (`<pid>`, holding its start time) in a folder of the
    server's home; without a folder (a library user's workers) it records nothing."""

    def __init__(self) -> None:
        self.folder: Path | None = None

    def configure(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def add(self, pid: int | None) -> None:
        start = started_at(pid) if pid is not None and self.folder is not None else None
        if self.folder is not None and start is not None:
            (self.folder / str(pid)).write_text(start)

    def remove(self, pid: int | None) -> None:
        if self.folder is not None and pid is not None:
            (self.folder / str(pid)).unlink(missing_ok=True)

    def end_leftovers(self) -> int:
        """Kill every recorded process that still runs (a predecessor's); returns how many were killed."""
        if self.folder is None:
            return 0
        ended = 0
        for entry in self.folder.iterdir():
            if entry.name.isdigit() and started_at(int(entry.name)) == entry.read_text().strip():
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                    ended += 1
                    log.warning("ended a process a previous server left running pid=%s", entry.name)
                except ProcessLookupError:
                    pass
            entry.unlink(missing_ok=True)
        return ended


PROCESSES = Registry()
