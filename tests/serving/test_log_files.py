"""Log stream files: what a writer appends, a reader sees whole; names as SageMaker's streams are named."""

from __future__ import annotations

import sys
from pathlib import Path

from clarimon.serving import log_files
from clarimon.serving.log_files import Event, LogWriter, Stream


def test_written_lines_read_back_with_the_writers_clock(tmp_path: Path) -> None:
    path = log_files.job_stream(tmp_path, "111122223333", "eu-west-1", "baseline", 1764052200.9)
    assert path == tmp_path / "logs/111122223333/eu-west-1/processing-jobs/baseline/algo-1-1764052200.jsonl"
    writer = LogWriter(path, lambda: 1764052200.25)
    writer("first")
    writer("two\nlines, one event", at=1764052201.0)
    writer.close()
    assert Stream("baseline/algo-1-1764052200", path).events() == [
        Event(1764052200250, "first"), Event(1764052201000, "two\nlines, one event")]


def test_a_line_still_being_written_or_damaged_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    path.write_bytes(b'{"t": 1, "m": "whole"}\nnot json\n{"t": 2}\n{"t": 3, "m": "half')
    assert Stream("s", path).events() == [Event(1, "whole")]


def test_streams_are_named_by_their_path_in_the_group(tmp_path: Path) -> None:
    group = tmp_path / "logs/000000000000/us-east-1/endpoints/churn"
    one = log_files.instance_id("arn:aws:sagemaker:us-east-1:000000000000:endpoint/churn", "AllTraffic", 0)
    two = log_files.instance_id("arn:aws:sagemaker:us-east-1:000000000000:endpoint/churn", "AllTraffic", 1)
    assert one != two and one.startswith("i-") and len(one) == 19
    for instance in (two, one):
        LogWriter(log_files.endpoint_stream(tmp_path, "000000000000", "us-east-1", "churn", "AllTraffic",
                                            instance), lambda: 0.0).close()
    assert [s.name for s in log_files.streams(group)] == sorted([f"AllTraffic/{one}", f"AllTraffic/{two}"])
    assert log_files.streams(tmp_path / "missing") == []


def test_captured_output_becomes_one_event_per_line(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path / "worker.jsonl", lambda: 2.0)
    previous = log_files.capture_output(writer)
    try:
        print("loading", "model")
        sys.stderr.write("Traceback (most recent call last):\n  boom")
        sys.stderr.flush()
    finally:
        sys.stdout, sys.stderr = previous
        writer.close()
    assert [e.message for e in Stream("w", tmp_path / "worker.jsonl").events()] == [
        "loading model", "Traceback (most recent call last):", "  boom"]
