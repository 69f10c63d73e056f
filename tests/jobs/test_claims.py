"""A schedule's due times claimed as executions (once, whoever races), and created jobs taken by a server."""

from __future__ import annotations

from typing import Any

from clarimon.control import job_definitions, processing_jobs, schedules
from clarimon.control.context import Context
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.jobs import claims
from clarimon.store import executions, resources
from tests.documents import clarify_job, minimal_definition

HOUR = 3600.0


def hourly(ctx: Context, definition: dict[str, Any]) -> None:
    job_definitions.create(ctx, definition)
    schedules.create(ctx, {"MonitoringScheduleName": "hourly", "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": definition["JobDefinitionName"], "MonitoringType": "ModelExplainability"}})


def test_the_latest_due_time_runs_once_and_earlier_ones_are_missed(ctx: Context) -> None:
    hourly(ctx, minimal_definition("def"))
    [due] = claims.due(ctx.services, ctx.now() + 2 * HOUR + 1)
    assert len(due.times) in (2, 3) and all(t.minute == 0 for t in due.times)
    arn = claims.claim(ctx.services, "server-a", due)
    assert arn is not None
    assert claims.claim(ctx.services, "server-b", due) is None  # the time is taken
    with ctx.store.reading() as conn:
        rows = executions.page(conn, executions.ExecutionQuery(ctx.account, ctx.region, limit=10,
                                                               sort_by="ScheduledTime", descending=False))
        job = resources.get(conn, arn)
        lease = executions.lease_of(conn, arn)
    assert [row.status for row in rows] == ["Failed"] * (len(due.times) - 1) + ["Pending"]
    assert all(str(row.failure_reason).startswith("Missed: clarimon was not running") for row in rows[:-1])
    assert job is not None and job.status == "InProgress" and lease is not None and lease[0] == "server-a"
    run = MonitoringRun.of(job.document)
    assert run is not None and (run.endpoint, run.schedule, run.end - run.start) == ("churn-endpoint", "hourly", HOUR)
    assert run.output_uri.startswith("s3://bucket/out/churn-endpoint/hourly/")
    assert claims.due(ctx.services, ctx.now() + 2 * HOUR + 1) == []  # nothing left to claim


def test_a_time_whose_job_cannot_be_made_fails_saying_why(ctx: Context) -> None:
    definition = minimal_definition("def")
    definition["ModelExplainabilityBaselineConfig"] = {"BaseliningJobName": "no-such-job"}
    hourly(ctx, definition)
    [due] = claims.due(ctx.services, ctx.now() + HOUR + 1)
    assert claims.claim(ctx.services, "server-a", due) is None
    with ctx.store.reading() as conn:
        latest = executions.latest(conn, ctx.account, ctx.region, "hourly")
    assert latest is not None and latest.status == "Failed" and "no-such-job" in str(latest.failure_reason)


def test_a_stopped_schedule_has_nothing_due(ctx: Context) -> None:
    hourly(ctx, minimal_definition("def"))
    schedules.stop(ctx, {"MonitoringScheduleName": "hourly"})
    assert claims.due(ctx.services, ctx.now() + 5 * HOUR) == []


def test_a_created_job_is_queued_until_one_server_takes_it(ctx: Context) -> None:
    arn = processing_jobs.create(ctx, clarify_job("baseline"))["ProcessingJobArn"]
    processing_jobs.create(ctx, clarify_job("spark", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/spark:3"))
    assert claims.queued(ctx.services) == [arn]  # the Failed one is not
    assert claims.take(ctx.services, "server-a", arn)
    assert not claims.take(ctx.services, "server-b", arn)
    assert claims.queued(ctx.services) == []
