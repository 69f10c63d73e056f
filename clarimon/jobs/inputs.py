"""A job's rows: the endpoint's captured requests in the analysis window, a batch transform's output, or a
Clarify job's dataset, as a feature table."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np
import regex

from clarimon.engine import capture_files
from clarimon.engine.config import AnalysisConfig
from clarimon.engine.datasets import DataError, Table, read
from clarimon.jobs.task import NO_DATA, JobFailed, Source, Task
from clarimon.objects import ObjectError, Objects
from clarimon.timestamps import iso

_HOUR_PATH = regex.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/")


def excluded(source: Source) -> list[str | int]:
    """The columns ExcludeFeaturesAttribute names (indexes or names, comma-separated)."""
    text = source.exclude_features_attribute or ""
    return [int(item) if item.isdigit() else item for item in (part.strip() for part in text.split(",")) if item]


def _in_window(uri: str, task: Task) -> bool:
    """Whether an object's hour folder (…/yyyy/mm/dd/hh/…) overlaps the window; keys without one count."""
    found = _HOUR_PATH.search(uri)
    if found is None or task.start is None or task.end is None:
        return True
    year, month, day, hour_of_day = (int(g) for g in found.groups())
    hour = datetime.datetime(year, month, day, hour_of_day, tzinfo=datetime.UTC)
    return hour < task.end and hour + datetime.timedelta(hours=1) > task.start


def table(task: Task, config: AnalysisConfig, objects: Objects, log: Callable[[str], None]) -> Table:
    """The rows the job explains: the captured requests of its window, the batch transform's output of its
    window, or a Clarify job's dataset; JobFailed naming the file or record when they cannot be read."""
    source = task.source
    try:
        uris = [uri for uri in objects.list(source.uri) if _in_window(uri, task)]
    except ObjectError as error:
        raise JobFailed(f"Cannot list the job's input: {error}") from None
    if source.dataset:
        return _dataset(uris, config, source.uri, objects)
    if task.start is None or task.end is None:
        raise JobFailed(f"{source.uri}: a capture or batch transform input needs an analysis window")
    window = f"from {iso(task.start)} to {iso(task.end)}"
    try:
        if source.dataset_format is None:
            captured = capture_files.Captured()
            for uri in uris:
                capture_files.collect(captured, objects.read(uri), uri, task.start, task.end)
            log(f"capture files={len(uris)} records={captured.records} outside_window={captured.outside}")
            if captured.records == 0:
                raise JobFailed(NO_DATA, f"{NO_DATA}: no captured requests {window} under {source.uri} "
                                         f"({len(uris)} capture files looked at). Send traffic to the endpoint with "
                                         "data capture enabled, or widen the window (StartTimeOffset/EndTimeOffset).")
            table = capture_files.table(captured, source=source.uri, headers=config.headers, features=config.features,
                                  excluded=excluded(source))
        else:
            table = _batch(uris, source.dataset_format, config, objects, source, window)
    except (DataError, ObjectError) as error:
        raise JobFailed(str(error)) from None
    if len(table.values) == 0:
        raise JobFailed(NO_DATA, f"{NO_DATA}: no records {window} under {source.uri}.")
    return table


def _dataset(uris: list[str], config: AnalysisConfig, prefix: str, objects: Objects) -> Table:
    """A Clarify job's dataset: every object under the input's URI, read as the config says, label dropped."""
    if not uris:
        raise JobFailed(f"ClientError: no dataset under {prefix} (the ProcessingInput of /opt/ml/processing/"
                        "input/data).")
    try:
        tables = [read(objects.read(uri), config.dataset_type or "text/csv", source=uri, headers=config.headers,
                       label=config.label, features=config.features, excluded=config.excluded_columns)
                  for uri in uris]
    except (DataError, ObjectError) as error:
        raise JobFailed(f"ClientError: {error}") from None
    for uri, table in zip(uris[1:], tables[1:], strict=True):
        if table.columns != tables[0].columns:
            raise JobFailed(f"ClientError: {uri} has the columns {table.columns}, {uris[0]} has {tables[0].columns}")
    return Table(tables[0].columns, np.concatenate([t.values for t in tables]))


def _batch(uris: list[str], fmt: dict[str, Any], config: AnalysisConfig, objects: Objects, source: Source,
           window: str) -> Table:
    if not uris:
        raise JobFailed(NO_DATA, f"{NO_DATA}: no batch transform output under {source.uri} {window}.")
    if "Csv" in fmt:
        kind = "text/csv"
        headers = None if (fmt["Csv"] or {}).get("Header") else config.headers
    elif "Json" in fmt:
        kind = "application/jsonlines" if (fmt["Json"] or {}).get("Line") else "application/json"
        headers = config.headers
    else:
        kind, headers = "application/x-parquet", None
    dropped = excluded(source)
    tables = [read(objects.read(uri), kind, source=uri, headers=headers, features=config.features,
                   excluded=dropped) for uri in uris]
    columns = tables[0].columns
    values = np.concatenate([t.values for t in tables]) if len(tables) > 1 else tables[0].values
    names = config.headers or []
    gone = {names[d] if isinstance(d, int) and d < len(names) else d for d in dropped}
    wanted = [h for h in names if h != config.label and h not in gone]
    if wanted and columns != wanted:  # outputs carry more than the features (labels, predictions): keep those
        missing = [h for h in wanted if h not in columns]
        if missing:
            raise JobFailed(f"{uris[0]}: no column {missing[0]!r} of the config's headers; columns are {columns}")
        values = values[:, [columns.index(h) for h in wanted]]
        columns = wanted
    return Table(columns, values)
