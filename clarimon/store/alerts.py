"""Queries on the history of monitoring alerts: each transition a row, the latest one the alert's status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from clarimon.store.resources import Bound, filters, keyset
from clarimon.store.tables import alert_history


@dataclass(frozen=True)
class Transition:
    """One alert transition: the alert became `status` at `creation_time`."""

    id: int
    account: str
    region: str
    schedule_name: str
    alert_name: str
    creation_time: float
    status: str
    execution_id: int | None


@dataclass(frozen=True)
class HistoryQuery:
    """A page of one account and region's alert history, filtered and sorted as ListMonitoringAlertHistory asks."""

    account: str
    region: str
    limit: int
    sort_by: str = "CreationTime"  # CreationTime | Status
    descending: bool = True
    schedule_name: str | None = None
    alert_name: str | None = None
    status: str | None = None
    created_before: Bound | None = None
    created_after: Bound | None = None
    after: tuple[Any, int] | None = None


SORT_COLUMNS = {"CreationTime": alert_history.c.creation_time, "Status": alert_history.c.status}


def insert(conn: Connection, *, account: str, region: str, schedule_name: str, alert_name: str, status: str,
           now: float, execution_id: int | None) -> None:
    """A new transition."""
    conn.execute(alert_history.insert().values(
        account=account, region=region, schedule_name=schedule_name, alert_name=alert_name, creation_time=now,
        status=status, execution_id=execution_id))


def current(conn: Connection, account: str, region: str, schedule_name: str, alert_name: str,
            since: float) -> Transition | None:
    """The alert's latest transition made at or after `since` (the current schedule of that name), or None."""
    c = alert_history.c
    row = conn.execute(
        sa.select(alert_history)
        .where(c.account == account, c.region == region, c.schedule_name == schedule_name,
               c.alert_name == alert_name, c.creation_time >= since)
        .order_by(c.id.desc()).limit(1)).first()
    return _transition(row) if row is not None else None


def latest(conn: Connection, account: str | None = None, region: str | None = None) -> list[Transition]:
    """Every alert's latest transition, in every account and region unless narrowed."""
    c = alert_history.c
    scope = [column == v for column, v in ((c.account, account), (c.region, region)) if v is not None]
    newest = sa.select(sa.func.max(c.id)).where(*scope).group_by(c.account, c.region, c.schedule_name,
                                                                 c.alert_name)
    return [_transition(row) for row in conn.execute(sa.select(alert_history).where(c.id.in_(newest)))]


def page(conn: Connection, query: HistoryQuery) -> list[Transition]:
    """Up to `query.limit` + 1 transitions after the cursor `query.after`."""
    c = alert_history.c
    conditions = [c.account == query.account, c.region == query.region, *filters(
        [(c.schedule_name, query.schedule_name), (c.alert_name, query.alert_name), (c.status, query.status)],
        [(c.creation_time, query.created_before, query.created_after)],
    )]
    statement = keyset(sa.select(alert_history), alert_history, conditions, SORT_COLUMNS[query.sort_by], query)
    return [_transition(row) for row in conn.execute(statement)]


def sort_value(transition: Transition, sort_by: str) -> Any:
    """The value a transition sorts by under `sort_by` (for the keyset cursor)."""
    return {"CreationTime": transition.creation_time, "Status": transition.status}[sort_by]


def _transition(row: Row[Any]) -> Transition:
    return Transition(**{name: getattr(row, name) for name in Transition.__dataclass_fields__})
