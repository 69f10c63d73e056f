"""A job's rows from a batch transform's output: each DatasetFormat, the window, excluded columns, failures."""

from __future__ import annotations

import dataclasses
import datetime
import io
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clarimon.engine.config import AnalysisConfig, parse
from clarimon.jobs import inputs
from clarimon.jobs.task import NO_DATA, JobFailed, Source, Task
from clarimon.objects import LocalObjects
from clarimon.serving.workers import ModelSpec

FEATURES = ["f0", "f1", "f2"]
HOUR = datetime.datetime(2026, 11, 25, 7, tzinfo=datetime.UTC)
ROWS = np.arange(12.0).reshape(4, 3) / 4
IN_WINDOW, BEFORE = "s3://bucket/batch/2026/11/25/07", "s3://bucket/batch/2026/11/25/05"


def config(**changes: Any) -> AnalysisConfig:
    return dataclasses.replace(parse({"methods": {"shap": {}}, "headers": FEATURES}, source="c"), **changes)


def task(home: Path, dataset_format: dict[str, Any], **source: Any) -> Task:
    spec = ModelSpec("image", home, {}, home)
    return Task(job_name="j", home=str(home), s3_endpoint_url=None, config=config(),
                constraints_uri=None, output_uri="s3://bucket/out", start=HOUR, end=HOUR + datetime.timedelta(hours=1),
                source=Source("s3://bucket/batch/", dataset_format=dataset_format, **source), model=spec,
                model_label="m")


def csv(rows: np.ndarray, header: list[str] | None = None) -> bytes:
    lines = [",".join(header)] if header else []
    return "\n".join(lines + [",".join(repr(float(v)) for v in row) for row in rows]).encode()


def table(home: Path, dataset_format: dict[str, Any], settings: AnalysisConfig | None = None,
          **source: Any) -> np.ndarray:
    found = inputs.table(task(home, dataset_format, **source), settings or config(), LocalObjects(home / "s3"),
                         lambda message: None)
    assert found.columns == FEATURES
    return found.values


def test_headerless_csv_in_the_window(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path / "s3")
    objects.write(f"{IN_WINDOW}/part-0.csv", csv(ROWS[:2]))
    objects.write(f"{IN_WINDOW}/part-1.csv", csv(ROWS[2:]))
    objects.write(f"{BEFORE}/part-0.csv", csv(ROWS + 100))  # outside the window: not read
    np.testing.assert_array_equal(table(tmp_path, {"Csv": {"Header": False}}), ROWS)


def test_csv_with_a_header_keeps_the_configs_features_in_order(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path / "s3")
    shuffled = ["prediction", "f2", "f0", "f1"]
    data = np.column_stack([np.full(4, 0.5), ROWS[:, 2], ROWS[:, 0], ROWS[:, 1]])
    objects.write(f"{IN_WINDOW}/out.csv", csv(data, shuffled))
    np.testing.assert_array_equal(table(tmp_path, {"Csv": {"Header": True}}), ROWS)


def test_json_lines_with_a_features_attribute(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path / "s3")
    lines = [orjson.dumps({"features": row.tolist(), "prediction": 0.5}) for row in ROWS]
    objects.write(f"{IN_WINDOW}/out.jsonl", b"\n".join(lines))
    values = table(tmp_path, {"Json": {"Line": True}}, config(features="features"))
    np.testing.assert_array_equal(values, ROWS)


def test_parquet(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"f0": ROWS[:, 0], "f1": ROWS[:, 1], "f2": ROWS[:, 2], "score": np.ones(4)}), buffer)
    LocalObjects(tmp_path / "s3").write(f"{IN_WINDOW}/out.parquet", buffer.getvalue())
    np.testing.assert_array_equal(table(tmp_path, {"Parquet": {}}), ROWS)


def test_excluded_features_are_dropped_by_name(tmp_path: Path) -> None:
    LocalObjects(tmp_path / "s3").write(f"{IN_WINDOW}/out.csv", csv(np.column_stack([np.arange(4.0), ROWS])))
    values = table(tmp_path, {"Csv": {}}, config(headers=["id", *FEATURES]), exclude_features_attribute="id")
    np.testing.assert_array_equal(values, ROWS)


def test_no_output_in_the_window_is_no_data(tmp_path: Path) -> None:
    LocalObjects(tmp_path / "s3").write(f"{BEFORE}/part-0.csv", csv(ROWS))
    with pytest.raises(JobFailed) as caught:
        table(tmp_path, {"Csv": {}})
    assert caught.value.reason == NO_DATA
    assert "s3://bucket/batch/ from 2026-11-25T07:00:00Z to 2026-11-25T08:00:00Z" in caught.value.detail


def test_a_column_the_config_names_but_the_output_lacks_fails_naming_both(tmp_path: Path) -> None:
    LocalObjects(tmp_path / "s3").write(f"{IN_WINDOW}/out.csv", csv(ROWS[:, :2], ["f0", "f1"]))
    with pytest.raises(JobFailed, match=r"out.csv: no column 'f2' of the config's headers; columns are \['f0', 'f1'\]"):
        table(tmp_path, {"Csv": {"Header": True}})
