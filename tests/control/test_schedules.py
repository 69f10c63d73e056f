"""Monitoring schedules driven as operations: their checks, Start/Stop through the table, Describe, Delete."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from clarimon.control import job_definitions, processing_jobs, schedules
from clarimon.control.context import Context
from clarimon.errors import AccessDeniedException, ResourceNotFound, ValidationException
from clarimon.store import executions, resources
from tests.documents import minimal_definition


def schedule_request(name: str = "hourly", expression: str = "cron(0 * ? * * *)", **config: Any) -> dict[str, Any]:
    return {"MonitoringScheduleName": name, "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": expression, **config},
        "MonitoringJobDefinitionName": "def", "MonitoringType": "ModelExplainability"}}


@pytest.fixture
def defined(ctx: Context) -> Context:
    job_definitions.create(ctx, minimal_definition("def"))
    return ctx


def test_a_schedule_is_scheduled_and_describes_its_definition(defined: Context) -> None:
    arn = schedules.create(defined, schedule_request())["MonitoringScheduleArn"]
    described = schedules.describe(defined, {"MonitoringScheduleName": "hourly"})
    assert described["MonitoringScheduleArn"] == arn
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert (described["MonitoringType"], described["EndpointName"]) == ("ModelExplainability", "churn-endpoint")
    assert "LastMonitoringExecutionSummary" not in described


@pytest.mark.parametrize(("expression", "extra", "words"), [
    ("rate(1 hour)", {}, "Invalid ScheduleExpression"),
    ("NOW", {}, "DataAnalysisStartTime and DataAnalysisEndTime are required"),
    ("cron(0 * ? * * *)", {"DataAnalysisStartTime": "-PT1H"}, "Specify both"),
    ("NOW", {"DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT2H"}, "window is empty"),
])
def test_expressions_and_windows_are_checked(defined: Context, expression: str, extra: dict[str, str],
                                             words: str) -> None:
    with pytest.raises(ValidationException, match=words):
        schedules.create(defined, schedule_request(expression=expression, **extra))


def test_a_missing_definition_is_a_validation_error(ctx: Context) -> None:
    with pytest.raises(ValidationException, match="def"):
        schedules.create(ctx, schedule_request())


def test_stop_and_start_follow_the_table_and_repeat_harmlessly(defined: Context) -> None:
    schedules.create(defined, schedule_request())
    name = {"MonitoringScheduleName": "hourly"}
    schedules.stop(defined, name)
    stopped = schedules.describe(defined, name)
    assert stopped["MonitoringScheduleStatus"] == "Stopped"
    schedules.stop(defined, name)  # already Stopped: nothing changes, not even the modification time
    assert schedules.describe(defined, name)["LastModifiedTime"] == stopped["LastModifiedTime"]
    schedules.start(defined, name)
    assert schedules.describe(defined, name)["MonitoringScheduleStatus"] == "Scheduled"
    with pytest.raises(ResourceNotFound):
        schedules.start(defined, {"MonitoringScheduleName": "nowhere"})


def test_update_resumes_a_stopped_schedule(defined: Context) -> None:
    # As SageMaker does (the SDK's integration tests stop, update, then wait for Scheduled): an update applies
    # and the schedule is Scheduled again.
    schedules.create(defined, schedule_request())
    schedules.stop(defined, {"MonitoringScheduleName": "hourly"})
    schedules.update(defined, schedule_request(expression="cron(0 5 ? * * *)"))
    described = schedules.describe(defined, {"MonitoringScheduleName": "hourly"})
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 5 ? * * *)"


def test_a_refused_update_leaves_a_stopped_schedule_as_it_was(defined: Context) -> None:
    schedules.create(defined, schedule_request())
    schedules.stop(defined, {"MonitoringScheduleName": "hourly"})
    before = schedules.describe(defined, {"MonitoringScheduleName": "hourly"})
    with pytest.raises(ValidationException):
        schedules.update(defined, schedule_request(expression="rate(1 hour)"))
    assert schedules.describe(defined, {"MonitoringScheduleName": "hourly"}) == before


def test_delete_stops_the_running_execution_and_keeps_the_history(defined: Context) -> None:
    schedules.create(defined, schedule_request())
    job = "arn:aws:sagemaker:us-east-1:000000000000:processing-job/run"
    with defined.store.transaction() as conn:
        resources.insert(conn, kind=processing_jobs.KIND, account=defined.account, region=defined.region,
                         name="run", arn=job, now=1.0, document={}, tags=[], status="InProgress")
        executions.insert(conn, account=defined.account, region=defined.region, schedule_name="hourly",
                          scheduled_time=3600.0, now=defined.now(), status="InProgress", endpoint_name="churn-endpoint",
                          job_definition_name="def", monitoring_type="ModelExplainability", processing_job_arn=job)
    summary = schedules.describe(defined, {"MonitoringScheduleName": "hourly"})["LastMonitoringExecutionSummary"]
    assert (summary["ScheduledTime"], summary["MonitoringExecutionStatus"]) == (3600.0, "InProgress")
    schedules.delete(defined, {"MonitoringScheduleName": "hourly"})
    with defined.store.reading() as conn:
        stopping = resources.get(conn, job)
        execution = executions.by_job(conn, job)
    assert stopping is not None and stopping.status == "Stopping"
    assert execution is not None and execution.status == "Stopping"


def handed_over(ctx: Context, bucket: str) -> Context:
    """`ctx` after the operator gave `bucket` to another account (--bucket-owners) and restarted."""
    settings = dataclasses.replace(ctx.settings, bucket_owners={bucket: "111111111111"})
    return Context(ctx.account, ctx.region, dataclasses.replace(ctx.services, settings=settings))


def test_an_update_onto_a_bucket_of_another_account_is_refused(defined: Context) -> None:
    moved = orjson.loads(orjson.dumps(minimal_definition("moved")).replace(b"s3://bucket/", b"s3://handed-over/"))
    job_definitions.create(defined, moved)  # the bucket is the caller's (claimed) at creation
    schedules.create(defined, schedule_request())
    before = schedules.describe(defined, {"MonitoringScheduleName": "hourly"})
    request = schedule_request()
    request["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] = "moved"
    with pytest.raises(AccessDeniedException, match="Access Denied: .*'s3://handed-over/"):
        schedules.update(handed_over(defined, "handed-over"), request)
    assert schedules.describe(defined, {"MonitoringScheduleName": "hourly"}) == before
