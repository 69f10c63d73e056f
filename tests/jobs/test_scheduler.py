"""One scheduler tick: stale leases first, then the due time claimed and handed to the runner, once; and one
schedule the scheduler cannot run fails on its own while the other schedules (of every account) still run."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from clarimon.control import job_definitions, schedules
from clarimon.control.context import Context, Services
from clarimon.jobs.scheduler import Scheduler
from clarimon.store import executions, resources
from tests.documents import minimal_definition
from tests.servers import eventually

T0 = 1_764_064_800.0  # 2025-11-25T10:00:00Z


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

@pytest.fixture
def late(services: Services) -> Services:
    """The services two hours and a minute after T0, when the schedules stored at T0 have times due."""
    return dataclasses.replace(services, clock=lambda: T0 + 2 * 3600 + 60)


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:{kind}/{name}"


def stored(services: Services, account: str, name: str, definition: dict[str, Any], expression: str) -> str:
    """A definition and an hourly schedule using it, written straight to the store (as an older clarimon, which
    checked less at create time, may have left them)."""
    schedule_arn = arn(account, "monitoring-schedule", name)
    with services.store.transaction() as conn:
        resources.insert(conn, kind="model-explainability-job-definition", account=account, region="us-east-1",
                         name=name, arn=arn(account, "model-explainability-job-definition", name), now=T0,
                         document=definition, tags=[], endpoint_name="churn-endpoint")
        config = {"ScheduleConfig": {"ScheduleExpression": expression}, "MonitoringJobDefinitionName": name,
                  "MonitoringType": "ModelExplainability"}
        resources.insert(conn, kind="monitoring-schedule", account=account, region="us-east-1", name=name,
                         arn=schedule_arn, now=T0, document={"MonitoringScheduleName": name,
                                                             "MonitoringScheduleConfig": config},
                         tags=[], status="Scheduled", endpoint_name="churn-endpoint", job_definition_name=name,
                         monitoring_type="ModelExplainability")
    return schedule_arn


def latest(services: Services, account: str, name: str) -> executions.Execution | None:
    with services.store.reading() as conn:
        return executions.latest(conn, account, "us-east-1", name)


def test_bad_schedules_fail_alone_and_another_accounts_schedule_runs(late: Services) -> None:
    services = late
    bad_expression = stored(services, "111111111111", "bad-expression", minimal_definition("bad-expression"),
                            "cron(not one)")
    reversed_offsets = minimal_definition("reversed")
    reversed_offsets["ModelExplainabilityJobInput"]["EndpointInput"].update(StartTimeOffset="-PT1H",
                                                                             EndTimeOffset="-PT2H")
    stored(services, "111111111111", "reversed", reversed_offsets, "cron(0 * ? * * *)")
    broken_definition = {k: v for k, v in minimal_definition("broken").items() if k != "JobResources"}
    stored(services, "111111111111", "broken", broken_definition, "cron(0 * ? * * *)")
    stored(services, "222222222222", "good", minimal_definition("good"), "cron(0 * ? * * *)")

    scheduler = Scheduler(services, interval=3600, lease_seconds=60, concurrency=1)
    try:
        scheduler.tick()
    finally:
        scheduler.runner.close()

    good = latest(services, "222222222222", "good")
    assert good is not None and good.processing_job_arn is not None  # it ran, whatever its job then did
    with services.store.reading() as conn:
        failed = resources.get(conn, bad_expression)
    assert failed is not None and failed.status == "Failed"
    assert "cron(not one)" in failed.document["FailureReason"]
    for name, reason in (("reversed", "analysis window is empty"), ("broken", "JobResources")):
        execution = latest(services, "111111111111", name)
        assert execution is not None and execution.status == "Failed", name
        assert execution.failure_reason is not None and reason in execution.failure_reason, execution.failure_reason


def test_a_failed_schedule_is_scheduled_again_by_an_update(late: Services) -> None:
    services = late
    schedule_arn = stored(services, "000000000000", "mend-me", minimal_definition("mend-me"), "cron(nope)")
    scheduler = Scheduler(services, interval=3600, lease_seconds=60, concurrency=1)
    try:
        scheduler.tick()
    finally:
        scheduler.runner.close()
    ctx = Context("000000000000", "us-east-1", services)
    assert schedules.describe(ctx, {"MonitoringScheduleName": "mend-me"})["MonitoringScheduleStatus"] == "Failed"
    config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "mend-me",
              "MonitoringType": "ModelExplainability"}
    schedules.update(ctx, {"MonitoringScheduleName": "mend-me", "MonitoringScheduleConfig": config})
    described = schedules.describe(ctx, {"MonitoringScheduleName": "mend-me"})
    assert described["MonitoringScheduleStatus"] == "Scheduled" and "FailureReason" not in described
    assert described["MonitoringScheduleArn"] == schedule_arn
