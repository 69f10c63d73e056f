"""Narrow reads for charts over time: a schedule's executions (id, time, status), each label's NDCG and a few
features' attributions of a set of executions. The console's schedule page reads 1,000 executions' worth at once,
so rows come back as plain tuples, with only the columns charts need."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clarimon.store.tables import execution_attributions, execution_labels, executions


class Step(NamedTuple):
    """One execution of a schedule, as a timeline shows it."""

    id: int
    scheduled_time: float
    status: str
    failure_reason: str | None


class LabelPoint(NamedTuple):
    """One execution's NDCG of one label against the baseline (None: no baseline), and its threshold."""

    execution_id: int
    label: str
    ndcg: float | None
    threshold: float


class AttributionPoint(NamedTuple):
    """One execution's global attribution of one feature of one label, and the baseline's."""

    execution_id: int
    feature: str
    value: float | None
    baseline_value: float | None


# Bound parameters per statement: SQLite allows 32,766, PostgreSQL 65,535; ids are read in chunks below that.
_CHUNK = 5000


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


def labels(conn: Connection, execution_ids: Sequence[int]) -> list[LabelPoint]:
    """The NDCG of every label of these executions."""
    c = execution_labels.c
    found: list[LabelPoint] = []
    for chunk in _chunks(execution_ids):
        rows = conn.execute(sa.select(c.execution_id, c.label, c.ndcg, c.threshold).where(c.execution_id.in_(chunk)))
        found += [LabelPoint(*row) for row in rows]
    return found


def attributions(conn: Connection, execution_ids: Sequence[int], label: str,
                 features: Sequence[str]) -> list[AttributionPoint]:
    """The attributions of `features` of `label` in these executions."""
    if not features:
        return []
    c = execution_attributions.c
    found: list[AttributionPoint] = []
    for chunk in _chunks(execution_ids):
        rows = conn.execute(sa.select(c.execution_id, c.feature, c.value, c.baseline_value)
                            .where(c.execution_id.in_(chunk), c.label == label, c.feature.in_(list(features))))
        found += [AttributionPoint(*row) for row in rows]
    return found


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]
