"""Monitoring schedules' API through boto3: validation, lifecycle, lists, quotas (no execution needed here)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.documents import minimal_definition
from tests.e2e.test_job_definitions import error_of
from tests.servers import Server

pytestmark = pytest.mark.e2e

DAILY = {"ScheduleExpression": "cron(0 3 ? * * *)"}


def config(definition: str = "def", monitoring_type: str = "ModelExplainability",
           schedule: dict[str, str] | None = None) -> dict[str, Any]:
    return {"ScheduleConfig": schedule or DAILY, "MonitoringJobDefinitionName": definition,
            "MonitoringType": monitoring_type}


def create(client: Any, name: str, **changes: Any) -> dict[str, Any]:
    return dict(client.create_monitoring_schedule(MonitoringScheduleName=name,
                                                  MonitoringScheduleConfig=config(**changes)))


def names(client: Any, **filters: Any) -> list[str]:
    """Every schedule the list returns, one item per page (so that tokens carry the filters)."""
    found: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = client.list_monitoring_schedules(MaxResults=1, **filters, **token)
        found += [s["MonitoringScheduleName"] for s in page["MonitoringScheduleSummaries"]]
        if "NextToken" not in page:
            return found
        token = {"NextToken": page["NextToken"]}


def test_bad_schedules_are_refused_and_change_nothing(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("def"))
    create_ = client.create_monitoring_schedule
    code, message, status = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
        monitoring_type="DataQuality"))
    assert (code, status) == ("ValidationException", 400)
    assert "MonitoringType DataQuality is not supported" in message and "ModelExplainability" in message
    without_definition = {"ScheduleConfig": DAILY, "MonitoringType": "ModelExplainability"}
    code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=without_definition)
    assert (code, message) == ("ValidationException", "MonitoringScheduleConfig.MonitoringJobDefinitionName is "
                                                      "required for ModelExplainability schedules.")
    assert error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config("nope"))[:2] == (
        "ValidationException", "Could not find job definition nope.")
    for expression in ("cron(0 12 * * * *)", "cron(30 * ? * * *)", "rate(1 hour)"):
        code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
            schedule={"ScheduleExpression": expression}))
        assert code == "ValidationException" and f"Invalid ScheduleExpression {expression!r}" in message
        assert "cron(0 * ? * * *) (hourly)" in message
    code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
        schedule={"ScheduleExpression": "cron(0 25 ? * * *)"}))
    assert message == "Invalid ScheduleExpression 'cron(0 25 ? * * *)': the hour must be from 0 to 23."
    code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
        schedule={"ScheduleExpression": "NOW"}))
    assert message == ("DataAnalysisStartTime and DataAnalysisEndTime are required when the ScheduleExpression "
                       "is NOW.")
    code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
        schedule={**DAILY, "DataAnalysisStartTime": "-PT1H"}))
    assert message == "Specify both DataAnalysisStartTime and DataAnalysisEndTime, or neither."
    code, message, _ = error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config(
        schedule={**DAILY, "DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT2H"}))
    assert code == "ValidationException"
    assert client.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []

    create(client, "s")
    assert error_of(create_, MonitoringScheduleName="s", MonitoringScheduleConfig=config())[:2] == (
        "ResourceInUse", "Monitoring schedule s already exists.")
    code, message, _ = error_of(client.delete_model_explainability_job_definition, JobDefinitionName="def")
    assert (code, message) == ("ResourceInUse", "Job definition def is used by monitoring schedule s; delete the "
                                                "schedule first.")
    assert client.describe_model_explainability_job_definition(JobDefinitionName="def")["JobDefinitionName"] == "def"


def test_schedule_lifecycle(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("def", endpoint="churn"))
    arn = create(client, "s", schedule={"ScheduleExpression": "cron(0 1/6 ? * * *)"})["MonitoringScheduleArn"]
    assert arn == f"arn:aws:sagemaker:{region}:000000000000:monitoring-schedule/s"
    described = client.describe_monitoring_schedule(MonitoringScheduleName="s")
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["MonitoringScheduleConfig"] == config(schedule={"ScheduleExpression": "cron(0 1/6 ? * * *)"})
    assert (described["EndpointName"], described["MonitoringType"]) == ("churn", "ModelExplainability")
    assert "LastMonitoringExecutionSummary" not in described

    client.stop_monitoring_schedule(MonitoringScheduleName="s")
    assert client.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"] == "Stopped"
    client.start_monitoring_schedule(MonitoringScheduleName="s")
    assert client.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"] == "Scheduled"

    client.create_model_explainability_job_definition(**minimal_definition("other", endpoint="fraud"))
    updated = client.update_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=config("other"))
    assert updated["MonitoringScheduleArn"] == arn
    described = client.describe_monitoring_schedule(MonitoringScheduleName="s")
    assert (described["EndpointName"], described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]) == (
        "fraud", "other")
    assert described["LastModifiedTime"] > described["CreationTime"]
    client.delete_model_explainability_job_definition(JobDefinitionName="def")  # no longer used
    monthly = config("other", schedule={"ScheduleExpression": "cron(0 0 1 * ? *)"})
    code, _, _ = error_of(client.update_monitoring_schedule, MonitoringScheduleName="s",
                          MonitoringScheduleConfig=monthly)
    assert code == "ValidationException"
    assert client.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleConfig"] == \
        config("other")

    for call in (client.describe_monitoring_schedule, client.start_monitoring_schedule,
                 client.stop_monitoring_schedule, client.delete_monitoring_schedule):
        assert error_of(call, MonitoringScheduleName="missing")[:2] == (
            "ResourceNotFound", "Could not find monitoring schedule missing.")
    assert error_of(client.update_monitoring_schedule, MonitoringScheduleName="missing",
                    MonitoringScheduleConfig=config("other"))[0] == "ResourceNotFound"
    client.delete_monitoring_schedule(MonitoringScheduleName="s")
    assert error_of(client.describe_monitoring_schedule, MonitoringScheduleName="s")[0] == "ResourceNotFound"
    client.delete_model_explainability_job_definition(JobDefinitionName="other")  # free again


def test_list_schedules_filters_sorts_and_pages(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("def-a", endpoint="a"))
    client.create_model_explainability_job_definition(**minimal_definition("def-b", endpoint="b"))
    for name, definition in (("alpha", "def-a"), ("beta", "def-b"), ("alphabet", "def-b"), ("gamma", "def-a")):
        create(client, name, definition=definition)
    client.stop_monitoring_schedule(MonitoringScheduleName="gamma")

    assert names(client) == ["gamma", "alphabet", "beta", "alpha"]  # newest first by default
    assert names(client, SortBy="Name", SortOrder="Ascending") == ["alpha", "alphabet", "beta", "gamma"]
    assert names(client, NameContains="alpha", SortBy="Name") == ["alphabet", "alpha"]
    assert names(client, EndpointName="a", SortBy="Name", SortOrder="Ascending") == ["alpha", "gamma"]
    assert names(client, MonitoringJobDefinitionName="def-b", SortBy="Name", SortOrder="Ascending") == [
        "alphabet", "beta"]
    assert names(client, StatusEquals="Stopped") == ["gamma"]
    assert names(client, MonitoringTypeEquals="ModelExplainability", SortBy="Name", SortOrder="Ascending") == [
        "alpha", "alphabet", "beta", "gamma"]
    assert names(client, MonitoringTypeEquals="DataQuality") == []
    summary = client.list_monitoring_schedules(NameContains="beta")["MonitoringScheduleSummaries"][0]
    assert summary["MonitoringScheduleArn"].endswith(":monitoring-schedule/beta")
    assert (summary["EndpointName"], summary["MonitoringJobDefinitionName"], summary["MonitoringType"],
            summary["MonitoringScheduleStatus"]) == ("b", "def-b", "ModelExplainability", "Scheduled")


def test_schedule_quota_is_resource_limit_exceeded(make_server: Any, region: str) -> None:
    server = make_server("--quota", "monitoring-schedule=2")
    client = server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("def"))
    create(client, "one")
    create(client, "two")
    code, message, _ = error_of(client.create_monitoring_schedule, MonitoringScheduleName="three",
                                MonitoringScheduleConfig=config())
    assert code == "ResourceLimitExceeded" and "2" in message
    client.delete_monitoring_schedule(MonitoringScheduleName="one")
    create(client, "three")
    assert names(client, SortBy="Name", SortOrder="Ascending") == ["three", "two"]
