"""Notifications as the EventBridge events AWS sends for the same changes: an outbox row (store.outbox) made into
the JSON body a receiver gets.

The envelope is every AWS event's: `{"version": "0", "id", "detail-type", "source", "account", "time", "region",
"resources", "detail"}` ("Events that Amazon SageMaker AI sends to Amazon EventBridge", SageMaker developer guide):

- a processing job: `SageMaker Processing Job State Change`, detail = the job as DescribeProcessingJob answers,
  times in epoch milliseconds, as the guide's example shows;
- an endpoint: `SageMaker Endpoint State Change`, detail = DescribeEndpoint's answer with `Tags`, times in epoch
  milliseconds, and `EndpointStatus` written as the guide's example writes it (`IN_SERVICE`, `UPDATING`, ...);
- a monitoring execution: SageMaker sends nothing of its own (an execution's job sends processing job events,
  which never say `CompletedWithViolations`), so clarimon sends `SageMaker Monitoring Execution State Change`,
  detail = the execution's MonitoringExecutionSummary plus its schedule's ARN;
- an alert: the Model Dashboard's alerts are CloudWatch alarms ("View and edit alerts"), so an alert's transition
  is CloudWatch's `CloudWatch Alarm State Change` (source `aws.cloudwatch`, "Alarm events and EventBridge" in the
  CloudWatch user guide): `state` / `previousState` with `value` `ALARM` (InAlert) or `OK`.

Members follow botocore's output shapes (what a Describe would not return is left out); an event is made from
the snapshot its row holds, so every attempt sends the same body.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

from clarimon.control import arns, endpoints, processing_jobs
from clarimon.control.schedules import KIND as SCHEDULE_KIND
from clarimon.control.schedules import execution_summary
from clarimon.store import outbox
from clarimon.store.executions import Execution
from clarimon.store.resources import Resource

SOURCE = "aws.sagemaker"
PROCESSING_JOB = "SageMaker Processing Job State Change"
ENDPOINT = "SageMaker Endpoint State Change"
EXECUTION = "SageMaker Monitoring Execution State Change"
ALARM = "CloudWatch Alarm State Change"
ALARM_VALUES = {"InAlert": "ALARM", "OK": "OK"}


def event(row: outbox.Event) -> dict[str, Any]:
    """The body a receiver gets for one outbox row; ValueError for a kind clarimon does not notify."""
    if row.kind in outbox.RESOURCE_KINDS:
        resource = Resource(**row.snapshot)
        detail_type, detail = _resource_detail(resource)
        return envelope(row, detail_type, SOURCE, [resource.arn], detail)
    if row.kind == outbox.EXECUTION:
        execution = Execution(**row.snapshot)
        schedule = arns.of(execution.account, execution.region, SCHEDULE_KIND, execution.schedule_name)
        detail = {**_shaped(execution_summary(execution), _shape("MonitoringExecutionSummary")),
                  "MonitoringScheduleArn": schedule}
        return envelope(row, EXECUTION, SOURCE, [schedule, *filter(None, [execution.processing_job_arn])], detail)
    if row.kind == outbox.ALERT:
        return _alarm(row)
    raise ValueError(f"no event for an outbox row of kind {row.kind!r}")


def envelope(row: outbox.Event, detail_type: str, source: str, resources: list[str],
             detail: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's envelope around `detail`, with the row's id, account, region and time."""
    return {"version": "0", "id": row.event_id, "detail-type": detail_type, "source": source,
            "account": row.account, "time": _iso(row.time), "region": row.region, "resources": resources,
            "detail": detail}


def _resource_detail(resource: Resource) -> tuple[str, dict[str, Any]]:
    tags = {tag["Key"]: tag["Value"] for tag in resource.tags}
    if resource.kind == processing_jobs.KIND:
        described = processing_jobs.FAMILY.described(resource)
        return PROCESSING_JOB, {**_shaped(described, _output("DescribeProcessingJob")), "Tags": tags}
    if resource.kind == endpoints.KIND:
        detail = {**_shaped(endpoints.FAMILY.described(resource), _output("DescribeEndpoint")), "Tags": tags}
        # AWS's quirk, copied on purpose: the endpoint event spells the status IN_SERVICE where DescribeEndpoint
        # says InService (the guide's examples: IN_SERVICE, UPDATING).
        detail["EndpointStatus"] = _upper_snake(str(resource.status))
        return ENDPOINT, detail
    raise ValueError(f"no event for a resource of kind {resource.kind!r}")


def _alarm(row: outbox.Event) -> dict[str, Any]:
    """An alert's transition as CloudWatch's alarm state change; the snapshot holds the schedule's and alert's
    names, the rule and the reason."""
    snapshot = row.snapshot
    name = f"{snapshot['MonitoringScheduleName']}-{snapshot['MonitoringAlertName']}"
    alarm_arn = f"arn:aws:cloudwatch:{row.region}:{row.account}:alarm:{name}"
    schedule = arns.of(row.account, row.region, SCHEDULE_KIND, snapshot["MonitoringScheduleName"])
    state = {"value": ALARM_VALUES.get(row.status, row.status), "reason": snapshot.get("Reason", ""),
             "timestamp": _iso(row.time, milliseconds=True)}
    detail: dict[str, Any] = {
        "alarmName": name,
        "state": state,
        "configuration": {"description": f"Model Monitor alert {snapshot['MonitoringAlertName']} of monitoring "
                                         f"schedule {snapshot['MonitoringScheduleName']}: "
                                         f"{snapshot.get('DatapointsToAlert')} failed of the last "
                                         f"{snapshot.get('EvaluationPeriod')} executions",
                          "metrics": []},
        # SageMaker's own names for the alert, beside CloudWatch's (a receiver need not parse alarmName)
        "MonitoringScheduleName": snapshot["MonitoringScheduleName"],
        "MonitoringAlertName": snapshot["MonitoringAlertName"],
        "AlertStatus": row.status,
        "DatapointsToAlert": snapshot.get("DatapointsToAlert"),
        "EvaluationPeriod": snapshot.get("EvaluationPeriod"),
    }
    if row.previous_status is not None:
        detail["previousState"] = {"value": ALARM_VALUES.get(row.previous_status, row.previous_status)}
    return envelope(row, ALARM, "aws.cloudwatch", [alarm_arn, schedule], detail)


@functools.cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def _output(operation: str) -> Shape:
    return _model().operation_model(operation).output_shape


def _shape(name: str) -> Shape:
    return _model().shape_for(name)


def _shaped(value: Any, shape: Shape) -> Any:
    """`value` with only the members `shape` has, timestamps in epoch milliseconds (as SageMaker's events)."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return value
        return {key: _shaped(item, shape.members[key]) for key, item in value.items()
                if key in shape.members and item is not None}
    if isinstance(shape, ListShape):
        return [_shaped(item, shape.member) for item in value] if isinstance(value, list) else value
    if isinstance(shape, MapShape):
        return {key: _shaped(item, shape.value) for key, item in value.items()} if isinstance(value, dict) else value
    if shape.type_name == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value * 1000)
    return value


def _upper_snake(status: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(status)).upper()


def _iso(seconds: float, milliseconds: bool = False) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if milliseconds:  # CloudWatch's alarm timestamps: 2019-10-02T17:04:40.985+0000
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
