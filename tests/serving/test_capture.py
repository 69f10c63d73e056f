"""Capture records in SageMaker's format, batched into files, nothing queued lost on close."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from clarimon.objects import LocalObjects
from clarimon.serving.capture import CaptureWriter, Exchange, prefix, record

CONFIG: dict[str, Any] = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://bucket/capture/",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}
EXCHANGE = Exchange("churn", "AllTraffic", b"69,0,153.7\n", "text/csv", b"[0.0254]", "application/json",
                    "req-7", 1764064549.9)


def test_record_is_sagemakers_format() -> None:
    assert record(CONFIG, EXCHANGE, "e-1") == {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "69,0,153.7\n",
                              "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": "[0.0254]",
                               "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": "e-1", "inferenceTime": "2025-11-25T09:55:49Z", "inferenceId": "req-7"},
        "eventVersion": "0",
    }
    assert prefix(CONFIG["DestinationS3Uri"], EXCHANGE) == "s3://bucket/capture/churn/AllTraffic/2025/11/25/09"


def test_types_not_listed_are_base64_and_modes_choose_sides() -> None:
    bare = {**CONFIG, "CaptureContentTypeHeader": None, "CaptureOptions": [{"CaptureMode": "Output"}]}
    captured = record(bare, EXCHANGE, "e-2")["captureData"]
    assert list(captured) == ["endpointOutput"]
    assert captured["endpointOutput"]["encoding"] == "BASE64"
    assert base64.b64decode(captured["endpointOutput"]["data"]) == b"[0.0254]"
    both = record({**CONFIG, "CaptureOptions": [{"CaptureMode": "InputAndOutput"}]}, EXCHANGE, "e-3")
    assert set(both["captureData"]) == {"endpointInput", "endpointOutput"}


def test_writer_batches_samples_and_flushes_on_close(tmp_path: Path) -> None:
    store = LocalObjects(tmp_path)
    writer = CaptureWriter(store, flush_seconds=3600)  # only close() flushes here
    for _ in range(25):
        assert writer.offer(CONFIG, EXCHANGE)
    assert not writer.offer({**CONFIG, "EnableCapture": False}, EXCHANGE)
    assert not writer.offer(None, EXCHANGE)
    assert not writer.offer({**CONFIG, "InitialSamplingPercentage": 0}, EXCHANGE)
    writer.close()
    files = list((tmp_path / "bucket" / "capture" / "churn" / "AllTraffic").rglob("*.jsonl"))
    assert len(files) == 1  # one batch, one file
    lines = files[0].read_text().splitlines()
    assert len(lines) == 25
    assert len({json.loads(line)["eventMetadata"]["eventId"] for line in lines}) == 25


def test_sampling_percentage_is_honoured(tmp_path: Path) -> None:
    writer = CaptureWriter(LocalObjects(tmp_path), flush_seconds=3600)
    taken = sum(writer.offer({**CONFIG, "InitialSamplingPercentage": 30}, EXCHANGE) for _ in range(2000))
    writer.close()
    assert 480 <= taken <= 720  # 600 expected; far outside these bounds is a bug, not chance (p < 1e-9)
