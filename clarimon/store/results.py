"""Queries on what monitoring executions found: one `execution_results` row per ended execution, its labels'
expected values and NDCG (`execution_labels`) and its global attributions beside the baseline's
(`execution_attributions`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from clarimon.engine.drift import Attribution, LabelResult
from clarimon.store.executions import Execution, execution_of
from clarimon.store.tables import execution_attributions, execution_labels, execution_results, executions


@dataclass(frozen=True)
class Result:
    """One ended execution's result, with its execution's row members (creation time, job, failure reason)
    and, when asked for, its labels."""

    execution_id: int
    account: str
    region: str
    schedule_name: str
    scheduled_time: float
    creation_time: float
    status: str
    endpoint_name: str | None
    job_definition_name: str | None
    processing_job_arn: str | None
    failure_reason: str | None
    start_time: float | None
    end_time: float
    output_uri: str | None
    publish_metrics: bool
    violations: list[dict[str, Any]]
    labels: tuple[LabelResult, ...] = field(default=())

    @property
    def duration(self) -> float | None:
        """Seconds from the job's start to its end; None when its process never started."""
        return None if self.start_time is None else max(0.0, self.end_time - self.start_time)


@dataclass(frozen=True)
class Ending:
    """What is recorded when an execution ends, beside its row in `executions`."""

    start_time: float | None
    end_time: float
    output_uri: str | None
    publish_metrics: bool
    violations: Sequence[dict[str, Any]] = ()
    labels: Sequence[LabelResult] = ()


def insert(conn: Connection, execution_id: int, status: str, ending: Ending) -> None:
    """Record the ended execution `execution_id` (IntegrityError when it is recorded already)."""
    row = conn.execute(sa.select(executions).where(executions.c.id == execution_id)).one()
    conn.execute(execution_results.insert().values(
        execution_id=execution_id, account=row.account, region=row.region, schedule_name=row.schedule_name,
        scheduled_time=row.scheduled_time, status=status, endpoint_name=row.endpoint_name,
        job_definition_name=row.job_definition_name, start_time=ending.start_time, end_time=ending.end_time,
        output_uri=ending.output_uri, publish_metrics=ending.publish_metrics,
        violations=orjson.dumps(list(ending.violations)).decode(),
    ))
    if ending.labels:
        conn.execute(execution_labels.insert(), [
            {"execution_id": execution_id, "label": label.label, "expected_value": label.expected_value,
             "baseline_expected_value": label.baseline_expected_value, "ndcg": label.ndcg,
             "threshold": label.threshold} for label in ending.labels])
    attributions = [
        {"execution_id": execution_id, "label": label.label, "feature": a.feature, "position": position,
         "value": a.value, "baseline_value": a.baseline}
        for label in ending.labels for position, a in enumerate(label.attributions)]
    if attributions:
        conn.execute(execution_attributions.insert(), attributions)


_COLUMNS = (*execution_results.c, executions.c.creation_time, executions.c.processing_job_arn,
            executions.c.failure_reason)


def _select() -> sa.Select[Any]:
    return sa.select(*_COLUMNS).join(executions, executions.c.id == execution_results.c.execution_id)


def one(conn: Connection, account: str, region: str, execution_id: int) -> Result | None:
    """The result of one execution of the account and region, with its labels; None when it has none."""
    r = execution_results.c
    row = conn.execute(_select().where(r.execution_id == execution_id, r.account == account,
                                       r.region == region)).first()
    return with_labels(conn, [_result(row)])[0] if row is not None else None


def series(conn: Connection, account: str, region: str, schedule_name: str, *, limit: int,
           before: float | None = None, created_since: float | None = None) -> list[Result]:
    """The schedule's latest `limit` results (scheduled before `before` when given; executions created since
    `created_since`: the current schedule of that name), oldest first, without labels."""
    r = execution_results.c
    conditions = [r.account == account, r.region == region, r.schedule_name == schedule_name]
    if before is not None:
        conditions.append(r.scheduled_time < before)
    if created_since is not None:
        conditions.append(executions.c.creation_time >= created_since)
    rows = conn.execute(_select().where(*conditions).order_by(r.scheduled_time.desc(), r.execution_id.desc())
                        .limit(limit)).all()
    return [_result(row) for row in reversed(rows)]


def latest(conn: Connection, account: str | None = None, region: str | None = None) -> list[Result]:
    """Each schedule's latest result (by scheduled time), in every account and region unless narrowed."""
    r = execution_results.c
    scope = [c == v for c, v in ((r.account, account), (r.region, region)) if v is not None]
    rank = sa.func.row_number().over(partition_by=(r.account, r.region, r.schedule_name),
                                     order_by=(r.scheduled_time.desc(), r.execution_id.desc()))
    ranked = sa.select(r.execution_id, rank.label("rank")).where(*scope).subquery()
    newest = sa.select(ranked.c.execution_id).where(ranked.c.rank == 1)
    return [_result(row) for row in conn.execute(_select().where(r.execution_id.in_(newest)))]


def with_labels(conn: Connection, found: Sequence[Result]) -> list[Result]:
    """`found` with their labels and attributions, read in two queries."""
    ids = [result.execution_id for result in found]
    if not ids:
        return []
    a = execution_attributions.c
    attributions: dict[tuple[int, str], list[Attribution]] = {}
    for row in conn.execute(sa.select(a.execution_id, a.label, a.feature, a.value, a.baseline_value)
                            .where(a.execution_id.in_(ids)).order_by(a.execution_id, a.label, a.position)):
        attributions.setdefault((row.execution_id, row.label), []).append(
            Attribution(row.feature, row.value, row.baseline_value))
    labels: dict[int, list[LabelResult]] = {}
    lc = execution_labels.c
    for row in conn.execute(sa.select(execution_labels).where(lc.execution_id.in_(ids))
                            .order_by(lc.execution_id, lc.label)):
        labels.setdefault(row.execution_id, []).append(LabelResult(
            row.label, row.expected_value, row.baseline_expected_value, row.ndcg, row.threshold,
            tuple(attributions.get((row.execution_id, row.label), ()))))
    return [dataclasses.replace(result, labels=tuple(labels.get(result.execution_id, ()))) for result in found]


def recent_statuses(conn: Connection, account: str, region: str, schedule_name: str, *, limit: int,
                    created_since: float, ignored: Iterable[str] = ()) -> list[str]:
    """The statuses of the schedule's latest `limit` results (executions created since `created_since`,
    statuses in `ignored` left out), newest first."""
    r = execution_results.c
    rows = conn.execute(
        sa.select(r.status).join(executions, executions.c.id == r.execution_id)
        .where(r.account == account, r.region == region, r.schedule_name == schedule_name,
               executions.c.creation_time >= created_since, r.status.not_in(list(ignored)))
        .order_by(r.scheduled_time.desc(), r.execution_id.desc()).limit(limit))
    return [row.status for row in rows]


def unrecorded(conn: Connection, statuses: Iterable[str], *, after_id: int, limit: int) -> list[Execution]:
    """Up to `limit` executions past id `after_id` that ended (status among `statuses`) without a recorded
    result, in id order."""
    e = executions.c
    rows = conn.execute(
        sa.select(executions)
        .outerjoin(execution_results, execution_results.c.execution_id == e.id)
        .where(execution_results.c.execution_id.is_(None), e.status.in_(list(statuses)), e.id > after_id)
        .order_by(e.id).limit(limit))
    return [execution_of(row) for row in rows]


def _result(row: Row[Any]) -> Result:
    values = {name: getattr(row, name) for name in Result.__dataclass_fields__ if name != "labels"}
    values["violations"] = orjson.loads(values["violations"])
    values["publish_metrics"] = bool(values["publish_metrics"])
    return Result(**values)
