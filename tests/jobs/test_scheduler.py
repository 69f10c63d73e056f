"""One scheduler tick: stale leases first, then the due time claimed and handed to the runner, once."""

from __future__ import annotations

import dataclasses

from clarimon.control import job_definitions, schedules
from clarimon.control.context import Context
from clarimon.jobs.scheduler import Scheduler
from clarimon.store import executions
from tests.documents import minimal_definition
from tests.servers import eventually


def test_a_tick_starts_what_is_due_once(ctx: Context) -> None:
    job_definitions.create(ctx, minimal_definition("def"))  # its endpoint does not exist: the run fails
    schedules.create(ctx, {"MonitoringScheduleName": "hourly", "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": "def", "MonitoringType": "ModelExplainability"}})
    later = ctx.now() + 3600.0
    services = dataclasses.replace(ctx.services, clock=lambda: later)
    scheduler = Scheduler(services, interval=60, lease_seconds=30, concurrency=1)
    try:
        assert scheduler.tick() == 1
        assert scheduler.tick() == 0  # the time is taken

        def ended() -> executions.Execution | None:
            with ctx.store.reading() as conn:
                latest = executions.latest(conn, ctx.account, ctx.region, "hourly")
            return latest if latest is not None and latest.status == "Failed" else None

        failed = eventually(ended, 30, lambda: "the execution did not end")
        assert "churn-endpoint" in str(failed.failure_reason)
    finally:
        scheduler.runner.close()  # never started: only its runner runs
