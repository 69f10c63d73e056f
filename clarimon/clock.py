"""The server's clock: the system's, or one read from a file so that tests and demos can move time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from clarimon.timestamps import from_iso


def file_clock(path: Path) -> Callable[[], float]:
    """A clock reading `path` (ISO-8601 such as 2026-11-25T07:00:05Z, or epoch seconds) on every call; the
    system time while the file is missing or empty. Move it with `set_file_time`."""

    def now() -> float:
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return time.time()
        if not text:
            return time.time()
        try:
            return float(text)
        except ValueError:
            return from_iso(text).timestamp()

    return now


def set_file_time(path: Path, text: str) -> None:
    """Set a file clock to `text`: written aside and renamed, because a reader that caught the file half-written
    would see it empty, and with it the system time."""
    aside = path.with_name(path.name + ".new")
    aside.write_text(text)
    aside.replace(path)


def for_settings(clock_file: Path | None) -> Callable[[], float]:
    """The server's clock: the clock file's time when one is configured, else the system's."""
    return file_clock(clock_file) if clock_file is not None else time.time
