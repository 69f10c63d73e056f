"""The one-time recording of results for executions that ended before clarimon recorded them (migration 0004
made the tables empty): each ended execution's analysis.json, baseline and constraint_violations.json are read
from the object store once, then the `settings` row `execution_results_backfill` says it is done.

A startup step and not a migration: a migration runs inside Alembic's transaction under the migration lock
(`clarimon db upgrade` or a replica's start), without the object store's settings, and reading thousands of
objects there would hold every replica's start for as long; a schema migration stays a schema migration, which
`tests/store/test_tables.py` can check. The step runs in the background of a starting server: the API answers
meanwhile, and results appear as they are filled. Replicas that start together may both work: an execution
recorded twice is refused by its primary key and skipped; new executions record their own results meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import sqlalchemy as sa

from clarimon.control import alerts, monitoring_results
from clarimon.control.context import Services
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.states import ExecutionStatus
from clarimon.engine import drift
from clarimon.errors import ResourceInUse
from clarimon.objects import ObjectError
from clarimon.store import resources
from clarimon.store import results as stored
from clarimon.store.executions import Execution
from clarimon.store.tables import settings

log = logging.getLogger("clarimon.results")

SETTING = "execution_results_backfill"
BATCH = 200
ENDED = (ExecutionStatus.COMPLETED, ExecutionStatus.COMPLETED_WITH_VIOLATIONS, ExecutionStatus.FAILED,
         ExecutionStatus.STOPPED)


def done(services: Services) -> bool:
    """Whether the backfill has run to its end on this database."""
    with services.store.reading() as conn:
        return conn.execute(sa.select(settings.c.value).where(settings.c.key == SETTING)).first() is not None


def backfill(services: Services) -> int:
    """Record the result of every ended execution that has none, unless done already; returns how many were
    recorded. An execution whose files are gone or unreadable is recorded without attributions (logged)."""
    if done(services):
        return 0
    recorded, last = 0, 0
    touched: set[tuple[str, str, str]] = set()
    while True:
        with services.store.reading() as conn:
            batch = stored.unrecorded(conn, ENDED, after_id=last, limit=BATCH)
        if not batch:
            break
        for execution in batch:
            last = execution.id
            if _record(services, execution):
                recorded += 1
                touched.add((execution.account, execution.region, execution.schedule_name))
    with services.store.transaction() as conn:
        now = services.now()
        for account, region, schedule in sorted(touched):  # the alerts' status as of these results
            alerts.evaluate(conn, account, region, schedule, now, None)
        if conn.execute(sa.select(settings.c.key).where(settings.c.key == SETTING)).first() is None:
            conn.execute(settings.insert().values(key=SETTING, value=f"recorded={recorded}"))
    log.info("execution results backfilled count=%d", recorded)
    return recorded


def _record(services: Services, execution: Execution) -> bool:
    with services.store.reading() as conn:
        job = resources.get(conn, execution.processing_job_arn) if execution.processing_job_arn else None
    run = MonitoringRun.of(job.document) if job is not None else None
    labels: list[drift.LabelResult] = []
    violations: list[dict[str, Any]] = []
    if run is not None and execution.status in (ExecutionStatus.COMPLETED, ExecutionStatus.COMPLETED_WITH_VIOLATIONS):
        output = run.output_uri.rstrip("/")
        live = _read(services, execution, f"{output}/analysis.json")
        baseline = _read(services, execution, run.constraints_uri) if run.constraints_uri else None
        if isinstance(live, dict):
            try:
                labels = drift.compare(live, baseline if isinstance(baseline, dict) else None)
            except (KeyError, TypeError, AttributeError) as error:  # not an analysis.json
                log.warning("execution results not read id=%d error=%r", execution.id, error)
        if execution.status == ExecutionStatus.COMPLETED_WITH_VIOLATIONS:
            found = _read(services, execution, f"{output}/constraint_violations.json")
            violations = list(found.get("violations") or []) if isinstance(found, dict) else []
    ended = monitoring_results.ending(job, execution.last_modified_time, labels, violations)
    try:
        with services.store.transaction() as conn:
            stored.insert(conn, execution.id, execution.status, ended)
    except ResourceInUse:  # another replica recorded it meanwhile
        return False
    return True


def _read(services: Services, execution: Execution, uri: str) -> Any:
    """The JSON document at `uri`, or None (logged) when it is gone or not JSON."""
    try:
        return orjson.loads(services.objects.read(uri))
    except (ObjectError, orjson.JSONDecodeError) as error:
        log.warning("execution result file not read id=%d uri=%s error=%s", execution.id, uri, error)
        return None
