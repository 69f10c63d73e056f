"""A narrow read for timelines: a schedule's executions as (id, scheduled time, status, failure reason) tuples. The
console's schedule page reads 1,000 of them at once; results over time come from `store.results.series`."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clarimon.store.tables import executions


class Step(NamedTuple):
    """One execution of a schedule, as a timeline shows it."""

    id: int
    scheduled_time: float
    status: str
    failure_reason: str | None


def steps(conn: Connection, account: str, region: str, schedule_name: str, *, created_since: float,
          limit: int) -> list[Step]:
    """The schedule's latest `limit` executions created since `created_since` (the current schedule of that
    name), oldest first."""
    c = executions.c
    rows = conn.execute(sa.select(c.id, c.scheduled_time, c.status, c.failure_reason)
                        .where(c.account == account, c.region == region, c.schedule_name == schedule_name,
                               c.creation_time >= created_since)
                        .order_by(c.scheduled_time.desc(), c.id.desc()).limit(limit)).all()
    return [Step(*row) for row in reversed(rows)]
