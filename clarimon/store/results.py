"""Queries on what monitoring executions found: one `execution_results` row per ended execution, and per label
(`execution_labels`) its expected values, NDCG and global attributions beside the baseline's."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clarimon.engine.drift import Attribution, LabelResult
from clarimon.store.executions import Execution, execution_of
from clarimon.store.tables import execution_labels, execution_results, executions, resources


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
             "threshold": label.threshold,
             "attributions": orjson.dumps([[a.feature, a.value, a.baseline] for a in label.attributions]).decode()}
            for label in ending.labels])


_FROM_EXECUTIONS = ("creation_time", "processing_job_arn", "failure_reason")
# The columns a Result is made of, in the order of its fields (all but `labels`).
_COLUMNS = tuple((executions if name in _FROM_EXECUTIONS else execution_results).c[name]
                 for name in Result.__dataclass_fields__ if name != "labels")
_VIOLATIONS = _COLUMNS.index(execution_results.c.violations)
_PUBLISH = _COLUMNS.index(execution_results.c.publish_metrics)


def _select(*columns: Any) -> sa.Select[Any]:
    return sa.select(*(columns or _COLUMNS)).join(executions, executions.c.id == execution_results.c.execution_id)


def one(conn: Connection, account: str, region: str, execution_id: int) -> Result | None:
    """The result of one execution of the account and region, with its labels; None when it has none."""
    r = execution_results.c
    row = conn.execute(_select().where(r.execution_id == execution_id, r.account == account,
                                       r.region == region)).first()
    if row is None:
        return None
    return _result(row, _labels(conn, sa.select(sa.literal(execution_id).label("execution_id")).subquery(),
                                       None).get(execution_id, ()))


def series(conn: Connection, account: str, region: str, schedule_name: str, *, limit: int,
           before: float | None = None, created_since: float | None = None, labels: bool = False,
           features: Collection[str] | None = None) -> list[Result]:
    """The schedule's latest `limit` results (scheduled before `before` when given; executions created since
    `created_since`: the current schedule of that name), oldest first; with their labels when `labels`, and the
    attributions of `features` (all when None, none when empty)."""
    r = execution_results.c
    conditions = [r.account == account, r.region == region, r.schedule_name == schedule_name]
    if before is not None:
        conditions.append(r.scheduled_time < before)
    if created_since is not None:
        conditions.append(executions.c.creation_time >= created_since)
    order = (r.scheduled_time.desc(), r.execution_id.desc())
    rows = conn.execute(_select().where(*conditions).order_by(*order).limit(limit)).all()
    found: dict[int, tuple[LabelResult, ...]] = {}
    if labels and rows:
        chosen = _select(r.execution_id).where(*conditions).order_by(*order).limit(limit).subquery()
        found = _labels(conn, chosen, features)
    return [_result(row, found.get(row[0], ())) for row in reversed(rows)]


def latest(conn: Connection, schedule_kind: str, account: str | None = None, region: str | None = None
           ) -> list[Result]:
    """The latest result (by scheduled time) of each schedule (the resources of `schedule_kind`, in every account
    and region unless narrowed) whose execution was created since the schedule was: one index seek each."""
    r, s = execution_results.c, resources.c
    newest = (sa.select(r.execution_id)
              .where(r.account == s.account, r.region == s.region, r.schedule_name == s.name)
              .order_by(r.scheduled_time.desc(), r.execution_id.desc()).limit(1)
              .correlate(resources).scalar_subquery())
    scope = [c == v for c, v in ((s.account, account), (s.region, region)) if v is not None]
    chosen = sa.select(newest.label("execution_id"), s.creation_time.label("created")).where(
        s.kind == schedule_kind, *scope).subquery()
    query = (_select().join(chosen, chosen.c.execution_id == r.execution_id)
             .where(executions.c.creation_time >= chosen.c.created))
    return [_result(row) for row in conn.execute(query).all()]


def with_labels(conn: Connection, found: Sequence[Result], features: Collection[str] | None = None) -> list[Result]:
    """`found` with their labels and attributions (only those of `features` when given; none for an empty
    collection)."""
    if not found:
        return []
    ids = sa.select(execution_results.c.execution_id).where(
        execution_results.c.execution_id.in_([result.execution_id for result in found])).subquery()
    labels = _labels(conn, ids, features)
    return [dataclasses.replace(result, labels=labels.get(result.execution_id, ())) for result in found]


def _labels(conn: Connection, ids: sa.Subquery, features: Collection[str] | None
            ) -> dict[int, tuple[LabelResult, ...]]:
    """The labels of the executions whose ids `ids` selects, with the attributions of `features` (all when None),
    in one query."""
    found: dict[int, list[LabelResult]] = {}
    c = execution_labels.c
    wanted = None if features is None else set(features)
    columns = [c.execution_id, c.label, c.expected_value, c.baseline_expected_value, c.ndcg, c.threshold]
    if wanted is None or wanted:
        columns.append(c.attributions)
    query = sa.select(*columns).join(ids, ids.c.execution_id == c.execution_id).order_by(c.execution_id, c.label)
    for row in conn.execute(query).all():
        attributions: tuple[Attribution, ...] = ()
        if len(row) > 6:
            attributions = tuple(Attribution(*item) for item in orjson.loads(row[6])
                                 if wanted is None or item[0] in wanted)
        found.setdefault(row[0], []).append(LabelResult(row[1], row[2], row[3], row[4], row[5], attributions))
    return {execution_id: tuple(labels) for execution_id, labels in found.items()}


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


def _result(row: Sequence[Any], labels: tuple[LabelResult, ...] = ()) -> Result:
    values = list(row)
    text = values[_VIOLATIONS]
    values[_VIOLATIONS] = [] if text == "[]" else orjson.loads(text)
    values[_PUBLISH] = bool(values[_PUBLISH])
    values.append(labels)
    return Result(*values)
