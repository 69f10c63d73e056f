import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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


@pytest.mark.parametrize(("expression", "same_as"), [
    ("cron(0 * * * ? *)", "cron(0 * ? * * *)"),  # the SDK's integration tests' hourly spelling
    ("cron(0 7 * * ? *)", "cron(0 7 ? * * *)"),
    ("cron(0 17/12 * * ? *)", "cron(0 17/12 ? * * *)"),
])
def test_a_question_mark_in_either_day_field_is_the_same_schedule(expression: str, same_as: str) -> None:
    assert parse(expression).hours == parse(same_as).hours
    assert parse(expression).expression == expression  # kept as written: Describe returns it unchanged


@pytest.mark.parametrize("expression", [
    "cron(0 * * * * *)", "cron(0 * ? * ? *)", "cron(0 * 1 * ? *)", "cron(0 * * 2 ? *)", "cron(0 * * * ? 2027)",
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


# Properties: the times of a window are the scheduled hours in it, and windows split without losing or
# doubling a time (the scheduler asks for the times since its last run, over and over).
_expressions = st.one_of(
    st.just("cron(0 * ? * * *)"),
    st.integers(0, 23).map(lambda hour: f"cron(0 {hour} ? * * *)"),
    st.tuples(st.integers(0, 23), st.integers(1, 24)).map(lambda hn: f"cron(0 {hn[0]}/{hn[1]} ? * * *)"),
)
_moments = st.datetimes(min_value=datetime.datetime(2020, 1, 1), max_value=datetime.datetime(2030, 1, 1),
                        timezones=st.just(UTC))


@given(expression=_expressions, after=_moments, span=st.integers(0, 24 * 9), split=st.integers(0, 24 * 9))
def test_times_are_the_scheduled_hours_and_windows_split_cleanly(expression: str, after: datetime.datetime,
                                                               span: int, split: int) -> None:
    schedule = parse(expression)
    until = after + datetime.timedelta(hours=span, minutes=7)
    times = schedule.times(after, until)
    assert times == sorted(set(times))
    assert all(after < t <= until and t.minute == t.second == t.microsecond == 0 for t in times)
    assert all(t.hour in schedule.hours for t in times)
    hourly = [t for t in (after.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=h)
                          for h in range(1, span + 2)) if after < t <= until]
    assert times == [t for t in hourly if t.hour in schedule.hours]  # none skipped
    middle = after + datetime.timedelta(hours=min(split, span))
    assert schedule.times(after, middle) + schedule.times(middle, until) == times


@given(hour=st.integers(0, 23), every=st.integers(1, 24))
def test_every_n_hours_is_the_hours_congruent_to_the_start(hour: int, every: int) -> None:
    assert parse(f"cron(0 {hour}/{every} ? * * *)").hours == frozenset(
        h for h in range(24) if h % every == hour % every)


@given(days=st.integers(0, 3), hours=st.integers(0, 30), minutes=st.integers(0, 90), seconds=st.integers(0, 90),
       negative=st.booleans())
def test_offsets_read_every_iso_duration(days: int, hours: int, minutes: int, seconds: int, negative: bool) -> None:
    assume(days or hours or minutes or seconds)
    text = ("-" if negative else "") + "P" + (f"{days}D" if days else "")
    if hours or minutes or seconds:
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (
            f"{seconds}S" if seconds else "")
    span = datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert offset(text) == (-span if negative else span)


@given(scheduled=_moments, start=st.integers(-48 * 60, 60), end=st.integers(-48 * 60, 60))
def test_a_window_is_nonempty_and_at_most_a_day(scheduled: datetime.datetime, start: int, end: int) -> None:
    def minutes(value: int) -> str:
        return f"{'-' if value < 0 else ''}PT{abs(value)}M"

    try:
        begin, finish = window(scheduled, minutes(start), minutes(end))
    except ScheduleError:
        assert start >= end or end - start > 24 * 60
    else:
        assert begin < finish <= begin + datetime.timedelta(hours=24)
        assert (begin, finish) == (scheduled + datetime.timedelta(minutes=start),
                                   scheduled + datetime.timedelta(minutes=end))
