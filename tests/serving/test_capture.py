"""Capture records in SageMaker's format, journalled, batched into files; one bad config or folder stops nothing."""

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
    writer = CaptureWriter(store, tmp_path / "journal", flush_seconds=3600)  # only close() flushes here
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
    writer = CaptureWriter(LocalObjects(tmp_path), tmp_path / "journal", flush_seconds=3600)
    taken = sum(writer.offer({**CONFIG, "InitialSamplingPercentage": 30}, EXCHANGE) for _ in range(2000))
    writer.close()
    assert 480 <= taken <= 720  # 600 expected; far outside these bounds is a bug, not chance (p < 1e-9)


def test_a_poisoned_config_drops_its_own_records_only(tmp_path: Path) -> None:
    writer = CaptureWriter(LocalObjects(tmp_path), tmp_path / "journal", flush_seconds=0.05)
    poisoned = {**CONFIG, "DestinationS3Uri": "s3://bucket/poisoned/", "CaptureOptions": [None]}
    other = Exchange("other", "AllTraffic", b"1,2\n", "text/csv", b"[1]", "application/json", None, 1764064549.9)
    assert not writer.offer(poisoned, EXCHANGE)
    assert writer.offer(CONFIG, other)
    assert not writer.offer({**CONFIG, "InitialSamplingPercentage": "many"}, EXCHANGE)
    assert writer.offer(CONFIG, other)
    writer.close()
    assert writer.dropped == 2
    assert not (tmp_path / "bucket" / "poisoned").exists()
    lines = [line for f in (tmp_path / "bucket" / "capture" / "other").rglob("*.jsonl")
             for line in f.read_text().splitlines()]
    assert len(lines) == 2


class _Failing(LocalObjects):
    """A store that cannot write one folder."""

    def write(self, uri: str, data: bytes) -> None:
        if "/broken/" in uri:
            raise OSError("permission denied")
        super().write(uri, data)

    def move_in(self, uri: str, path: Path) -> None:
        if "/broken/" in uri:
            raise OSError("permission denied")
        super().move_in(uri, path)


def test_a_folder_the_store_cannot_write_is_counted_and_others_are_written(tmp_path: Path) -> None:
    writer = CaptureWriter(_Failing(tmp_path), tmp_path / "journal", flush_seconds=3600)
    for _ in range(3):
        assert writer.offer({**CONFIG, "DestinationS3Uri": "s3://bucket/broken/"}, EXCHANGE)
        assert writer.offer(CONFIG, EXCHANGE)
    writer.close()
    assert writer.dropped == 3
    files = list((tmp_path / "bucket" / "capture").rglob("*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 3
    assert list((tmp_path / "journal").iterdir()) == []  # the journal is consumed either way


def test_a_journal_left_by_a_dead_writer_is_written_out_once(tmp_path: Path) -> None:
    """What a killed server journalled is written at the next start; a segment written out before the crash
    removed it is written again under the same name, so no record appears twice."""
    journal = tmp_path / "journal"
    first = CaptureWriter(LocalObjects(tmp_path), journal, flush_seconds=3600)
    for _ in range(5):
        assert first.offer(CONFIG, EXCHANGE)
    first._journal.close()  # as a kill leaves it: segments on disk, nothing written out
    segments = list(journal.rglob("*.journal"))
    assert len(segments) == 1
    kept = segments[0].read_bytes()
    second = CaptureWriter(LocalObjects(tmp_path), journal, flush_seconds=3600)
    second.close()
    segments[0].parent.mkdir()
    (segments[0].parent / "STREAM").write_text("s3://bucket/capture/churn/AllTraffic/2025/11/25/09")
    segments[0].write_bytes(kept + b'{"captureData": {"endpointIn')  # replayed again, with a torn last line
    third = CaptureWriter(LocalObjects(tmp_path), journal, flush_seconds=3600)
    third.close()
    files = list((tmp_path / "bucket" / "capture").rglob("*.jsonl"))
    records: list[Any] = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(files) == 1 and len(records) == 5
    assert third.dropped == 1


def test_a_journal_of_an_older_clarimon_is_written_out(tmp_path: Path) -> None:
    """Before a segment per folder, every segment lay at the top of the journal and each line named its folder."""
    journal = tmp_path / "journal"
    journal.mkdir()
    folder = "s3://bucket/capture/churn/AllTraffic/2025/11/25/09"
    line = json.dumps(folder).encode() + b"\t" + json.dumps(record(CONFIG, EXCHANGE, "e-1")).encode() + b"\n"
    (journal / "20251125T094749000000-0123abcd.journal").write_bytes(line * 2 + b"torn")
    writer = CaptureWriter(LocalObjects(tmp_path), journal, flush_seconds=3600)
    writer.close()
    files = list((tmp_path / "bucket" / "capture").rglob("*.jsonl"))
    assert len(files) == 1
    assert [json.loads(x)["eventMetadata"]["eventId"] for x in files[0].read_text().splitlines()] == ["e-1", "e-1"]
    assert writer.dropped == 1
    assert list(journal.iterdir()) == []
