"""Events are shaped as AWS's: the EventBridge envelope, details as Describe answers (members of botocore's output
shapes only, times in epoch milliseconds), the endpoint's IN_SERVICE spelling, alarms as CloudWatch's."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from clarimon.control import events
from clarimon.store import outbox
from clarimon.store.executions import Execution
from clarimon.store.resources import Resource

ACCOUNT, REGION = "111122223333", "us-west-2"


def row(kind: str, snapshot: dict[str, Any], status: str, previous: str | None = None,
        time: float = 1704320746.0) -> outbox.Event:
    return outbox.Event(id=1, event_id="0a15f67d-aa23-4123-8123-01a23e89f01a", kind=kind, account=ACCOUNT,
                        region=REGION, resource="r", status=status, previous_status=previous, time=time,
                        snapshot=snapshot, attempts=0, next_attempt=0.0, delivered_to=())


def resource(kind: str, name: str, status: str, document: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"
    return dataclasses.asdict(Resource(
        id=7, kind=kind, account=ACCOUNT, region=REGION, name=name, arn=arn, creation_time=1704320199.0,
        last_modified_time=1704320746.5, endpoint_name=None, status=status, document=document,
        tags=[{"Key": "team", "Value": "ml"}]))


def test_a_processing_job_event_is_the_guides_shape() -> None:
    document = {"ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                          "VolumeSizeInGB": 5}},
                "AppSpecification": {"ImageUri": "img"}, "RoleArn": "arn:aws:iam::111122223333:role/r",
                "ProcessingStartTime": 1704320734.0, "ProcessingEndTime": 1704320746.0,
                "FailureReason": "ClientError: no", "_run": {"schedule": "private"}, "NotAMember": 1}
    body = events.event(row("processing-job", resource("processing-job", "job-1", "Failed", document), "Failed"))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/job-1"
    assert {k: body[k] for k in ("version", "id", "detail-type", "source", "account", "time", "region",
                                 "resources")} == {
        "version": "0", "id": "0a15f67d-aa23-4123-8123-01a23e89f01a",
        "detail-type": "SageMaker Processing Job State Change", "source": "aws.sagemaker", "account": ACCOUNT,
        "time": "2024-01-03T22:25:46Z", "region": REGION, "resources": [arn]}
    detail = body["detail"]
    assert detail["ProcessingJobName"] == "job-1" and detail["ProcessingJobArn"] == arn
    assert detail["ProcessingJobStatus"] == "Failed" and detail["FailureReason"] == "ClientError: no"
    assert (detail["CreationTime"], detail["LastModifiedTime"]) == (1704320199000, 1704320746500)
    assert (detail["ProcessingStartTime"], detail["ProcessingEndTime"]) == (1704320734000, 1704320746000)
    assert detail["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert "_run" not in detail and "NotAMember" not in detail  # only DescribeProcessingJob's members
    assert detail["Tags"] == {"team": "ml"}


@pytest.mark.parametrize(("status", "spelled"), [("InService", "IN_SERVICE"), ("Creating", "CREATING"),
                                                 ("Updating", "UPDATING"), ("Failed", "FAILED")])
def test_an_endpoint_event_spells_its_status_as_the_guide(status: str, spelled: str) -> None:
    document = {"EndpointConfigName": "cfg", "ProductionVariants": [
        {"VariantName": "AllTraffic", "CurrentWeight": 1.0, "DesiredWeight": 1.0, "CurrentInstanceCount": 1,
         "DesiredInstanceCount": 1, "DeployedImages": [{"SpecifiedImage": "i", "ResolutionTime": 1592411992.203}]}]}
    body = events.event(row("endpoint", resource("endpoint", "ep", status, document), status))
    assert body["detail-type"] == "SageMaker Endpoint State Change" and body["source"] == "aws.sagemaker"
    detail = body["detail"]
    assert detail["EndpointStatus"] == spelled and detail["EndpointName"] == "ep"
    assert detail["EndpointConfigName"] == "cfg" and detail["Tags"] == {"team": "ml"}
    assert detail["ProductionVariants"][0]["DeployedImages"][0]["ResolutionTime"] == 1592411992203
    assert detail["CreationTime"] == 1704320199000


def test_an_execution_event_carries_its_summary_and_schedule() -> None:
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/model-monitoring-1"
    execution = Execution(id=3, account=ACCOUNT, region=REGION, schedule_name="Sched", scheduled_time=1704319200.0,
                          creation_time=1704319201.0, last_modified_time=1704320746.0,
                          status="CompletedWithViolations", endpoint_name="ep", job_definition_name="jd",
                          monitoring_type="ModelExplainability", processing_job_arn=job, failure_reason=None)
    body = events.event(row("execution", dataclasses.asdict(execution), "CompletedWithViolations", "InProgress"))
    schedule = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/sched"
    assert body["detail-type"] == "SageMaker Monitoring Execution State Change"
    assert body["resources"] == [schedule, job]
    assert body["detail"] == {
        "MonitoringScheduleName": "Sched", "MonitoringScheduleArn": schedule, "ScheduledTime": 1704319200000,
        "CreationTime": 1704319201000, "LastModifiedTime": 1704320746000,
        "MonitoringExecutionStatus": "CompletedWithViolations", "ProcessingJobArn": job, "EndpointName": "ep",
        "MonitoringJobDefinitionName": "jd", "MonitoringType": "ModelExplainability"}


def test_an_alert_transition_is_a_cloudwatch_alarm_state_change() -> None:
    snapshot = {"MonitoringScheduleName": "sched", "MonitoringAlertName": "ModelExplainabilityAlert",
                "DatapointsToAlert": 2, "EvaluationPeriod": 3, "Reason": "2 of the last 3 executions failed"}
    body = events.event(row("alert", snapshot, "InAlert", "OK", time=1570035880.985))
    assert (body["detail-type"], body["source"]) == ("CloudWatch Alarm State Change", "aws.cloudwatch")
    name = "sched-ModelExplainabilityAlert"
    assert body["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
                                 f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/sched"]
    detail = body["detail"]
    assert detail["alarmName"] == name
    assert detail["state"] == {"value": "ALARM", "reason": "2 of the last 3 executions failed",
                               "timestamp": "2019-10-02T17:04:40.985+0000"}
    assert detail["previousState"] == {"value": "OK"}
    assert (detail["AlertStatus"], detail["DatapointsToAlert"], detail["EvaluationPeriod"]) == ("InAlert", 2, 3)


def test_every_attempt_sends_the_same_body() -> None:
    event = row("endpoint", resource("endpoint", "ep", "InService", {}), "InService")
    assert events.event(event) == events.event(event)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        events.event(row("schedule", {}, "Scheduled"))
