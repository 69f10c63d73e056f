"""Data capture files as Model Monitor reads them: the endpoint's requests in a time window, as a feature table.

A capture file holds one JSON object per line (`captureData.endpointInput` with `data`, `encoding` CSV, JSON or
BASE64 and `observedContentType`; `eventMetadata.inferenceTime`). A request may carry several rows (CSV lines,
JSON Lines records, a JSON list); each becomes a row of the table.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field

import numpy as np
import orjson

from clarimon.engine.datasets import DataError, Table, read


@dataclass
class Captured:
    """Request bodies grouped by content type, in capture order, and what was skipped."""

    bodies: dict[str, list[bytes]] = field(default_factory=dict)
    records: int = 0
    outside: int = 0  # records whose inferenceTime is outside the window


def collect(captured: Captured, content: bytes, source: str, start: datetime.datetime,
            end: datetime.datetime) -> None:
    """Add the requests of one capture file made in [start, end) to `captured`."""
    for line, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{source}: line {line}"
        try:
            record = orjson.loads(text)
            endpoint_input = record["captureData"]["endpointInput"]
            moment = _time(record["eventMetadata"]["inferenceTime"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise DataError(f"{where}: not a data capture record ({type(error).__name__}: {error})") from None
        if not start <= moment < end:
            captured.outside += 1
            continue
        body = _data(endpoint_input, where)
        kind = str(endpoint_input.get("observedContentType") or "text/csv").split(";", 1)[0].strip().lower()
        captured.bodies.setdefault(kind, []).append(body)
        captured.records += 1


def table(captured: Captured, *, source: str, headers: list[str] | None, features: str | None,
          excluded: list[str | int]) -> Table:
    """The rows of every captured request, with `features` (JMESPath) choosing them in JSON requests."""
    tables = []
    for kind, bodies in captured.bodies.items():
        if kind in ("text/csv", "application/jsonlines"):
            joined = b"\n".join(body.strip(b"\r\n") for body in bodies)
            tables.append(_read(joined, kind, source, headers, features, excluded))
        elif kind == "application/json":
            tables.extend(_read(body, kind, source, headers, features, excluded) for body in bodies)
        else:
            raise DataError(f"{source}: captured requests of content type {kind!r} cannot be read as features; "
                            "Model Monitor reads text/csv, application/json and application/jsonlines")
    if not tables:
        raise DataError(f"{source}: no captured requests")
    columns = tables[0].columns
    for other in tables[1:]:
        if other.columns != columns:
            raise DataError(f"{source}: captured requests differ in their features: {columns} and {other.columns}")
    values = np.concatenate([t.values for t in tables]) if len(tables) > 1 else tables[0].values
    return Table(columns, values)


def _read(content: bytes, kind: str, source: str, headers: list[str] | None, features: str | None,
          excluded: list[str | int]) -> Table:
    if kind == "text/csv" and headers is None:
        first = content.split(b"\n", 1)[0]
        headers = [f"feature_{i}" for i in range(first.count(b",") + 1)]  # captured CSV has no header row
    return read(content, kind, source=source, headers=headers, features=features if kind != "text/csv" else None,
                excluded=excluded)


def _data(endpoint_input: dict[str, object], where: str) -> bytes:
    data, encoding = endpoint_input.get("data"), str(endpoint_input.get("encoding") or "CSV").upper()
    if not isinstance(data, str):
        raise DataError(f"{where}: captureData.endpointInput.data is missing (was the input captured?)")
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            raise DataError(f"{where}: captureData.endpointInput.data is not base64") from None
    return data.encode()


def _time(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
