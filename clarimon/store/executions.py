"""Queries on monitoring executions and on the leases of running processing jobs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from clarimon.store import outbox
from clarimon.store.resources import Bound, filters, keyset
from clarimon.store.tables import executions, leases


@dataclass(frozen=True)
class Execution:
    """A monitoring execution row."""

    id: int
    account: str
    region: str
    schedule_name: str
    scheduled_time: float
    creation_time: float
    last_modified_time: float
    status: str
    endpoint_name: str | None
    job_definition_name: str | None
    monitoring_type: str | None
    processing_job_arn: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class ExecutionQuery:
    """A page of one account and region's executions, filtered and sorted as ListMonitoringExecutions asks."""

    account: str
    region: str
    limit: int
    sort_by: str = "CreationTime"  # CreationTime | ScheduledTime | Status
    descending: bool = True
    schedule_name: str | None = None
    endpoint_name: str | None = None
    job_definition_name: str | None = None
    monitoring_type: str | None = None
    status: str | None = None
    scheduled_before: Bound | None = None
    scheduled_after: Bound | None = None
    created_before: Bound | None = None
    created_after: Bound | None = None
    modified_before: Bound | None = None
    modified_after: Bound | None = None
    after: tuple[Any, int] | None = None


SORT_COLUMNS = {"CreationTime": executions.c.creation_time, "ScheduledTime": executions.c.scheduled_time,
                "Status": executions.c.status}


def insert(conn: Connection, *, account: str, region: str, schedule_name: str, scheduled_time: float, now: float,
           status: str, endpoint_name: str | None, job_definition_name: str | None, monitoring_type: str | None,
           processing_job_arn: str | None = None, failure_reason: str | None = None) -> None:
    """A new execution; IntegrityError when this schedule already has one at `scheduled_time`. Its status is an
    event in the outbox."""
    conn.execute(executions.insert().values(
        account=account, region=region, schedule_name=schedule_name, scheduled_time=scheduled_time,
        creation_time=now, last_modified_time=now, status=status, endpoint_name=endpoint_name,
        job_definition_name=job_definition_name, monitoring_type=monitoring_type,
        processing_job_arn=processing_job_arn, failure_reason=failure_reason,
    ))
    if outbox.notifying(conn):
        row = conn.execute(sa.select(executions).where(
            *_schedule(account, region, schedule_name), executions.c.scheduled_time == scheduled_time)).one()
        _notify(conn, execution_of(row), None)


def by_job(conn: Connection, processing_job_arn: str) -> Execution | None:
    """The execution a processing job runs, if it is a monitoring execution's."""
    row = conn.execute(sa.select(executions).where(executions.c.processing_job_arn == processing_job_arn)).first()
    return execution_of(row) if row is not None else None


def latest(conn: Connection, account: str, region: str, schedule_name: str) -> Execution | None:
    """The execution of the schedule's latest scheduled time."""
    row = conn.execute(
        sa.select(executions)
        .where(*_schedule(account, region, schedule_name))
        .order_by(executions.c.scheduled_time.desc(), executions.c.id.desc())
        .limit(1)
    ).first()
    return execution_of(row) if row is not None else None


def counts_by_status(conn: Connection, schedules: Iterable[tuple[str, str, str, float]]
                     ) -> dict[tuple[str, str, str], dict[str, int]]:
    """How many executions of each schedule `(account, region, name, created)` have each status, counting those
    created since `created` (a schedule created again under an old name starts from nothing)."""
    c = executions.c
    wanted = {(account, region, name): created for account, region, name, created in schedules}
    counts: dict[tuple[str, str, str], dict[str, int]] = {}
    older: set[tuple[str, str, str]] = set()
    # One pass over the covering index; a schedule with executions older than itself is counted again, exactly.
    for account, region, name, status, count, first in conn.execute(
            sa.select(c.account, c.region, c.schedule_name, c.status, sa.func.count(), sa.func.min(c.creation_time))
            .group_by(c.account, c.region, c.schedule_name, c.status)):
        key = (account, region, name)
        if key in wanted:
            counts.setdefault(key, {})[status] = int(count)
            if first < wanted[key]:
                older.add(key)
    for key in older:
        rows = conn.execute(sa.select(c.status, sa.func.count()).where(
            *_schedule(*key), c.creation_time >= wanted[key]).group_by(c.status))
        counts[key] = {status: int(count) for status, count in rows}
    return counts


def set_status(conn: Connection, processing_job_arn: str, now: float, status: str,
               failure_reason: str | None = None) -> None:
    """The execution of the job becomes `status`, with its FailureReason when given; a change of status is an
    event in the outbox, in the same transaction."""
    values: dict[str, Any] = {"status": status, "last_modified_time": now}
    if failure_reason is not None:
        values["failure_reason"] = failure_reason[:1024]
    before = by_job(conn, processing_job_arn) if outbox.notifying(conn) else None
    conn.execute(executions.update().where(executions.c.processing_job_arn == processing_job_arn).values(**values))
    if before is not None and before.status != status:
        after = by_job(conn, processing_job_arn)
        if after is not None:
            _notify(conn, after, before.status)


def _notify(conn: Connection, execution: Execution, previous_status: str | None) -> None:
    outbox.record(conn, kind=outbox.EXECUTION, account=execution.account, region=execution.region,
                  resource=execution.processing_job_arn or execution.schedule_name, status=execution.status,
                  previous_status=previous_status, time=execution.last_modified_time,
                  snapshot=dataclasses.asdict(execution))


def page(conn: Connection, query: ExecutionQuery) -> list[Execution]:
    """Up to `query.limit` + 1 executions after the cursor `query.after`."""
    c = executions.c
    conditions = [c.account == query.account, c.region == query.region, *filters(
        [(c.schedule_name, query.schedule_name), (c.endpoint_name, query.endpoint_name),
         (c.job_definition_name, query.job_definition_name), (c.monitoring_type, query.monitoring_type),
         (c.status, query.status)],
        [(c.scheduled_time, query.scheduled_before, query.scheduled_after),
         (c.creation_time, query.created_before, query.created_after),
         (c.last_modified_time, query.modified_before, query.modified_after)],
    )]
    statement = keyset(sa.select(executions), executions, conditions, SORT_COLUMNS[query.sort_by], query)
    return [execution_of(row) for row in conn.execute(statement)]


def sort_value(execution: Execution, sort_by: str) -> Any:
    """The value an execution sorts by under `sort_by` (for the keyset cursor)."""
    return {"CreationTime": execution.creation_time, "ScheduledTime": execution.scheduled_time,
            "Status": execution.status}[sort_by]


def one(conn: Connection, account: str, region: str, execution_id: int) -> Execution | None:
    """The execution with this id in the account and region, or None."""
    c = executions.c
    row = conn.execute(sa.select(executions).where(c.id == execution_id, c.account == account,
                                                   c.region == region)).first()
    return execution_of(row) if row is not None else None


def take_lease(conn: Connection, job_arn: str, owner: str, now: float) -> None:
    """`owner` runs the job; IntegrityError when another server holds it."""
    conn.execute(leases.insert().values(job_arn=job_arn, owner=owner, heartbeat=now))


def beat(conn: Connection, owner: str, now: float) -> None:
    """Renew every lease `owner` holds."""
    conn.execute(leases.update().where(leases.c.owner == owner).values(heartbeat=now))


def release(conn: Connection, job_arn: str) -> None:
    """Nobody runs the job any more."""
    conn.execute(leases.delete().where(leases.c.job_arn == job_arn))


def lease_of(conn: Connection, job_arn: str) -> tuple[str, float] | None:
    """Who runs the job and their last heartbeat, or None."""
    row = conn.execute(sa.select(leases.c.owner, leases.c.heartbeat).where(leases.c.job_arn == job_arn)).first()
    return (row.owner, row.heartbeat) if row is not None else None


def _schedule(account: str, region: str, schedule_name: str) -> tuple[sa.ColumnElement[bool], ...]:
    c = executions.c
    return c.account == account, c.region == region, c.schedule_name == schedule_name


def execution_of(row: Row[Any]) -> Execution:
    """An `executions` row as an Execution."""
    return Execution(**{column: getattr(row, column) for column in Execution.__dataclass_fields__})
