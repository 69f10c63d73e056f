"""What monitoring executions found, as the console and /metrics read it: recorded once when an execution
ends (`record`), read from the database, never from the execution's files.

Reads: each schedule's latest result (`latest`), a schedule's results over time (`series`, bounded), one
execution's result with its attributions beside the baseline's (`detail`). Results of a deleted schedule's
executions stay in the store (its execution history does too) but are not shown for a new schedule of the same
name.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy.engine import Connection

from clarimon.control import alerts, schedules
from clarimon.control.context import Services
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.engine.drift import LabelResult
from clarimon.store import resources
from clarimon.store import results as stored
from clarimon.store.executions import Execution
from clarimon.store.resources import Resource
from clarimon.store.results import Ending, Result

MAX_SERIES = 5000  # the most results `series` answers at once


def ending(job: Resource | None, now: float, labels: Sequence[LabelResult] = (),
           violations: Sequence[dict[str, str]] = ()) -> Ending:
    """What is recorded of an execution whose processing job `job` (as it was before it ended) ends at `now`."""
    document = job.document if job is not None else {}
    run = MonitoringRun.of(document)
    environment = document.get("Environment") or {}
    return Ending(start_time=document.get("ProcessingStartTime"), end_time=document.get("ProcessingEndTime", now),
                  output_uri=run.output_uri if run is not None else None,
                  publish_metrics=environment.get("publish_cloudwatch_metrics", "Enabled") != "Disabled",
                  violations=violations, labels=labels)


def record(conn: Connection, execution: Execution, status: str, ended: Ending) -> None:
    """Store the result of `execution`, which ended `status`, and evaluate its schedule's alerts, in the
    transaction that ends it."""
    stored.insert(conn, execution.id, status, ended)
    alerts.evaluate(conn, execution.account, execution.region, execution.schedule_name, ended.end_time,
                    execution.id)


def latest(services: Services, account: str | None = None, region: str | None = None) -> list[Result]:
    """Each existing schedule's latest result with its labels, in every account and region unless narrowed,
    sorted by account, region and schedule name."""
    with services.store.reading() as conn:
        found = sorted(stored.latest(conn, schedules.KIND, account, region),
                       key=lambda r: (r.account, r.region, r.schedule_name))
        return stored.with_labels(conn, found)


def series(services: Services, account: str, region: str, schedule_name: str, *, limit: int = 1000,
           before: float | None = None, with_labels: bool = True,
           features: Collection[str] | None = None) -> list[Result]:
    """The schedule's latest `limit` results (at most MAX_SERIES; scheduled before `before` when given), oldest
    first, with their labels (expected values, NDCG) unless `with_labels` is false, and the attributions of
    `features` (all when None, none when empty). Empty for an unknown schedule."""
    with services.store.reading() as conn:
        created = _schedules_created(conn, account, region).get((account, region, schedule_name))
        if created is None:
            return []
        return stored.series(conn, account, region, schedule_name, limit=max(1, min(limit, MAX_SERIES)),
                             before=before, created_since=created, labels=with_labels, features=features)


def detail(services: Services, account: str, region: str, execution_id: int) -> Result | None:
    """One execution's result with its labels and attributions beside the baseline's; None when it has none
    (it has not ended, or belongs to another account or region)."""
    with services.store.reading() as conn:
        return stored.one(conn, account, region, execution_id)


def _schedules_created(conn: Connection, account: str | None, region: str | None
                       ) -> dict[tuple[str, str, str], float]:
    """The creation time of each existing schedule, by (account, region, name)."""
    return {(s.account, s.region, s.name): s.creation_time
            for s in resources.of_kind(conn, schedules.KIND, account, region)}
