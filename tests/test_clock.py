import datetime
import time
from pathlib import Path

from clarimon.clock import file_clock, set_file_time


def test_file_clock_reads_what_set_file_time_wrote_and_falls_back_to_the_system_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    now = file_clock(path)
    assert abs(now() - time.time()) < 5  # no file yet: the system's time
    set_file_time(path, "2026-11-25T07:00:05Z")
    assert now() == datetime.datetime(2026, 11, 25, 7, 0, 5, tzinfo=datetime.UTC).timestamp()
    set_file_time(path, "1700000000.5")
    assert now() == 1700000000.5
    assert [p.name for p in tmp_path.iterdir()] == ["clock"]  # the aside copy was renamed over the clock
    path.write_text("")
    assert abs(now() - time.time()) < 5
