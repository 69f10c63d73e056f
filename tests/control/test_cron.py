import datetime

import pytest

from clarimon.control.cron import ScheduleError, offset, parse, window

UTC = datetime.UTC


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_hourly_daily_every_n_and_now() -> None:
    assert parse("cron(0 * ? * * *)").times(at(25, 10, 30), at(25, 13)) == [at(25, 11), at(25, 12), at(25, 13)]
    assert parse("cron(0 12 ? * * *)").times(at(25, 0), at(27, 0)) == [at(25, 12), at(26, 12)]
    # As SageMaker's guide reads it: every 12 hours starting at 5 PM UTC.
    assert parse("cron(0 17/12 ? * * *)").times(at(25, 0), at(26, 0)) == [at(25, 5), at(25, 17)]
    assert parse("cron(0 0/2 ? * * *)").times(at(25, 0), at(25, 6)) == [at(25, 2), at(25, 4), at(25, 6)]
    assert parse("cron(0 3/24 ? * * *)").times(at(25, 0), at(26, 23)) == [at(25, 3), at(26, 3)]
    now = parse("NOW")
    assert now.now and now.times(at(25, 0), at(26, 0)) == [] and now.times(at(25, 0), at(26, 1)) == []
    assert parse("cron(0 * ? * * *)").times(at(25, 10, 0), at(25, 11))[0] == at(25, 11)  # strictly after


@pytest.mark.parametrize("expression", [
    "cron(*/5 * ? * * *)", "cron(0 24 ? * * *)", "cron(0 1/0 ? * * *)", "cron(0 1/25 ? * * *)",
    "cron(0 * ? * MON *)", "rate(1 hour)", "cron(0 */2 ? * * *)", "", "now",
])
def test_unsupported_expressions_say_what_is_supported(expression: str) -> None:
    with pytest.raises(ScheduleError, match="Invalid ScheduleExpression"):
        parse(expression)


def test_offsets_and_windows() -> None:
    assert offset("-PT1H") == -datetime.timedelta(hours=1)
    assert offset("-P1DT2H30M") == -datetime.timedelta(days=1, hours=2, minutes=30)
    assert offset("PT0H") == datetime.timedelta(0)
    for bad in ("-1H", "P", "-PT", "PT1X"):
        with pytest.raises(ScheduleError):
            offset(bad)
    assert window(at(25, 10), None, None) == (at(25, 9), at(25, 10))
    assert window(at(25, 10), "-PT3H", "-PT1H") == (at(25, 7), at(25, 9))
    with pytest.raises(ScheduleError, match="empty"):
        window(at(25, 10), "-PT1H", "-PT2H")
    with pytest.raises(ScheduleError, match="24 hours"):
        window(at(25, 10), "-P2D", None)
