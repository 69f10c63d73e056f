"""Timestamps as the JSON protocol carries them: epoch seconds, or ISO-8601 text."""

from __future__ import annotations

import datetime
import math
from typing import Any

from clarimon.errors import SerializationException


def parse_timestamp(value: Any, path: str = "") -> float:
    """Epoch seconds from what clients send for a timestamp: a number, or an ISO-8601 string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return from_iso(value).timestamp()
        except ValueError:
            pass
    raise SerializationException(f"Unexpected value {value!r} at '{path}': expected a timestamp.")


def from_iso(text: str) -> datetime.datetime:
    """An ISO-8601 time (a trailing Z allowed, no zone meaning UTC); ValueError when it is not one."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def utc(seconds: float) -> datetime.datetime:
    """Epoch seconds as a UTC datetime."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    """A time as Model Monitor writes it (capture records, analysis windows): 2026-11-25T07:00:00Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
