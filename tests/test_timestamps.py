import datetime

import pytest

from clarimon.errors import SerializationException
from clarimon.timestamps import from_iso, iso, parse_timestamp, utc

SEVEN = datetime.datetime(2026, 11, 25, 7, tzinfo=datetime.UTC)


def test_iso_text_with_z_an_offset_or_no_zone_is_utc_when_no_zone_is_given() -> None:
    assert from_iso("2026-11-25T07:00:00Z") == SEVEN
    assert from_iso("2026-11-25T07:00:00") == SEVEN
    assert from_iso("2026-11-25T09:00:00+02:00") == SEVEN
    with pytest.raises(ValueError):
        from_iso("yesterday")


def test_request_timestamps_are_numbers_or_iso_text() -> None:
    assert parse_timestamp(1795590000) == parse_timestamp("2026-11-25T07:00:00Z") == SEVEN.timestamp()
    for bad in ("yesterday", True, float("nan"), None):
        with pytest.raises(SerializationException, match="expected a timestamp"):
            parse_timestamp(bad, "CreationTimeAfter")


def test_times_are_written_as_model_monitor_writes_them() -> None:
    assert utc(SEVEN.timestamp() + 5.9) == SEVEN + datetime.timedelta(seconds=5.9)
    assert iso(utc(SEVEN.timestamp() + 5.9)) == "2026-11-25T07:00:05Z"
