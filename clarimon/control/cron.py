"""The schedule expressions Model Monitor accepts, the times they fire at, and the windows they analyse.

SageMaker accepts `cron(0 * ? * * *)` (hourly), `cron(0 H ? * * *)` (daily at hour H, UTC),
`cron(0 H/N ? * * *)` (every N hours from hour H, N from 1 to 24) and `NOW` (one run at once). As in
EventBridge cron, the `?` ("any") may stand in either day field, the other being `*`: the SDK's integration tests
have created hourly schedules as `cron(0 * * * ? *)` against SageMaker for years, so `cron(0 H * * ? *)` and
`cron(0 H/N * * ? *)` are the same schedules as their `? * *` spellings. Its guide reads
`cron(0 17/12 ? * * *)` as "every 12 hours, starting at 5 PM": the hours congruent to H modulo N (17:00 and
05:00), where plain cron would fire at 17:00 only; clarimon follows the guide.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import regex

from clarimon.timestamps import iso

HOUR = datetime.timedelta(hours=1)
MAX_OFFSET = datetime.timedelta(days=365)  # clarimon's bound, so that no window can leave datetime's range at run time
# minutes, hours, then day-of-month, month, day-of-week (one of the day fields `?`, the other `*`), year
_CRON = regex.compile(r"cron\(0 (\*|\d{1,2})(?:/(\d{1,2}))? (?:\? \* \*|\* \* \?) \*\)")
_DURATION = regex.compile(r"([-+])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
SUPPORTED = ("cron(0 * ? * * *) (hourly), cron(0 H ? * * *) (daily at hour H UTC), "
             "cron(0 H/N ? * * *) (every N hours from hour H, N from 1 to 24), or NOW (once, now); "
             "the ? may be the day-of-week field instead, as in cron(0 * * * ? *)")


class ScheduleError(ValueError):
    """An expression or offset Model Monitor does not accept; the message says what it does accept."""


@dataclass(frozen=True)
class Schedule:
    """When a monitoring schedule fires. `now`: once, immediately; else at the hours in `hours` (UTC)."""

    expression: str
    now: bool
    hours: frozenset[int]

    def times(self, after: datetime.datetime, until: datetime.datetime) -> list[datetime.datetime]:
        """The scheduled times t with after < t <= until (UTC, on the hour); none for NOW."""
        if self.now:
            return []
        moment = after.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0) + HOUR
        found = []
        while moment <= until:
            if moment.hour in self.hours:
                found.append(moment)
            moment += HOUR
        return found


def parse(expression: str) -> Schedule:
    """A Schedule from a ScheduleExpression; ScheduleError naming the supported forms otherwise."""
    text = expression.strip()
    if text == "NOW":
        return Schedule(text, True, frozenset())
    found = _CRON.fullmatch(text)
    if found is None:
        raise ScheduleError(f"Invalid ScheduleExpression {expression!r}: Model Monitor supports {SUPPORTED}.")
    start, every = found.group(1), found.group(2)
    if start == "*":
        if every is not None:
            raise ScheduleError(f"Invalid ScheduleExpression {expression!r}: use cron(0 H/N ? * * *) with an hour H.")
        return Schedule(text, False, frozenset(range(24)))
    hour = int(start)
    if hour > 23:
        raise ScheduleError(f"Invalid ScheduleExpression {expression!r}: the hour must be from 0 to 23.")
    if every is None:
        return Schedule(text, False, frozenset({hour}))
    step = int(every)
    if not 1 <= step <= 24:
        raise ScheduleError(
            f"Invalid ScheduleExpression {expression!r}: Model Monitor supports hourly rates from 1 to 24 hours."
        )
    return Schedule(text, False, frozenset(h for h in range(24) if (h - hour) % step == 0))


def offset(text: str) -> datetime.timedelta:
    """An ISO-8601 duration as Model Monitor writes offsets and NOW windows: `-PT1H`, `-P1D`, `-PT30M`."""
    found = _DURATION.fullmatch(text.strip())
    if found is None or not any(found.group(i) for i in range(2, 6)):
        raise ScheduleError(f"Invalid duration {text!r}: write an ISO-8601 duration such as -PT1H or -P1D.")
    days, hours, minutes, seconds = (int(found.group(i) or 0) for i in range(2, 6))
    # Bounded before it becomes a timedelta: `-P9999999999D` fits the member's 15 characters but no datetime.
    if ((days * 24 + hours) * 60 + minutes) * 60 + seconds > MAX_OFFSET.total_seconds():
        raise ScheduleError(f"Invalid duration {text!r}: an offset may reach back at most {MAX_OFFSET.days} days.")
    span = datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return -span if found.group(1) == "-" else span


def window(scheduled: datetime.datetime, start_offset: str | None, end_offset: str | None
           ) -> tuple[datetime.datetime, datetime.datetime]:
    """The [start, end) of captured data a run at `scheduled` analyses: by default the hour before it."""
    start = scheduled + (offset(start_offset) if start_offset else -HOUR)
    end = scheduled + (offset(end_offset) if end_offset else datetime.timedelta(0))
    if not start < end:
        raise ScheduleError(f"The analysis window is empty: it starts at {iso(start)} and ends at "
                            f"{iso(end)}; the start offset must come before the end offset.")
    if end - start > datetime.timedelta(hours=24):
        raise ScheduleError("The analysis window is longer than 24 hours, which Model Monitor does not allow.")
    return start, end
