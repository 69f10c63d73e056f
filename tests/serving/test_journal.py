"""The journal: a segment per stream at a time, named streams, sealed and released segments."""

from __future__ import annotations

from pathlib import Path

from clarimon.serving.journal import Journal

FOLDER = "s3://bucket/capture/churn/AllTraffic/2026/11/25/10"


def test_each_stream_has_its_own_segments_which_keep_its_name(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    first = journal.append(FOLDER, b"a\n")
    assert journal.append(FOLDER, b"b\n") == first
    other = journal.append("s3://bucket/other//odd name", b"c\n")
    assert other.parent != first.parent
    sealed = journal.seal()
    assert sorted(sealed) == sorted([first, other])
    assert first.read_bytes() == b"a\nb\n" and other.read_bytes() == b"c\n"
    assert {journal.stream(s) for s in sealed} == {FOLDER, "s3://bucket/other//odd name"}
    later = journal.append(FOLDER, b"d\n")  # a new segment after the seal, in the same folder
    assert later != first and later.parent == first.parent
    journal.release(first)
    assert later.parent.is_dir()  # still holds the open segment
    journal.release(other)
    assert not other.parent.exists()  # a stream's folder goes with its last segment
    journal.seal()
    journal.release(later)
    assert list((tmp_path / "journal").iterdir()) == []
