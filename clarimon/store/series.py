"""Narrow reads of recorded execution results for charts over time: each label's NDCG, and a few features'
attributions, for a set of executions (the console's schedule page reads 1,000 executions' worth at once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clarimon.store.tables import execution_attributions, execution_labels


@dataclass(frozen=True)
class LabelPoint:
    """One execution's NDCG of one label against the baseline (None: no baseline), and its threshold."""

    execution_id: int
    label: str
    ndcg: float | None
    threshold: float


@dataclass(frozen=True)
class AttributionPoint:
    """One execution's global attribution of one feature of one label, and the baseline's."""

    execution_id: int
    feature: str
    value: float | None
    baseline_value: float | None


# Bound parameters per statement: SQLite allows 32,766, PostgreSQL 65,535; ids are read in chunks below that.
_CHUNK = 5000


def labels(conn: Connection, execution_ids: Sequence[int]) -> list[LabelPoint]:
    """The NDCG of every label of these executions."""
    c = execution_labels.c
    found: list[LabelPoint] = []
    for chunk in _chunks(execution_ids):
        rows = conn.execute(sa.select(c.execution_id, c.label, c.ndcg, c.threshold).where(c.execution_id.in_(chunk)))
        found += [LabelPoint(row.execution_id, row.label, row.ndcg, row.threshold) for row in rows]
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
        found += [AttributionPoint(row.execution_id, row.feature, row.value, row.baseline_value) for row in rows]
    return found


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]
