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
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            return moment.timestamp()
    raise SerializationException(f"Unexpected value {value!r} at '{path}': expected a timestamp.")
