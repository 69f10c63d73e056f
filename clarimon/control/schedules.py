"""Monitoring schedules: Create, Describe, List, Update, Start, Stop, Delete.

clarimon runs ModelExplainability schedules whose job is a named model explainability job definition. A
schedule is Scheduled from its creation (its expression and job definition are checked synchronously),
Stopped by StopMonitoringSchedule and Scheduled again by StartMonitoringSchedule or by an update.
`clarimon.jobs.scheduler` turns its scheduled times into executions.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control import arns, buckets, job_definitions, processing_jobs
from clarimon.control.context import Context, Request, Response, Services
from clarimon.control.cron import Schedule, ScheduleError, parse, window
from clarimon.control.families import Family
from clarimon.control.states import EXECUTION, SCHEDULE, ExecutionStatus, ScheduleStatus
from clarimon.errors import ResourceInUse, ResourceNotFound, ValidationException, without_folders
from clarimon.store import executions, resources
from clarimon.store.executions import Execution
from clarimon.store.resources import Resource

log = logging.getLogger("clarimon.schedules")

KIND = job_definitions.SCHEDULE_KIND
MONITORING_TYPE = "ModelExplainability"


def timing(config: dict[str, Any]) -> tuple[Schedule, str | None, str | None]:
    """The schedule and the analysis window offsets of a MonitoringScheduleConfig; ValidationException if wrong.

    Without a ScheduleConfig SageMaker picks a daily time; clarimon picks midnight UTC."""
    schedule_config = config.get("ScheduleConfig") or {"ScheduleExpression": "cron(0 0 ? * * *)"}
    start, end = schedule_config.get("DataAnalysisStartTime"), schedule_config.get("DataAnalysisEndTime")
    try:
        schedule = parse(schedule_config["ScheduleExpression"])
        if schedule.now and (start is None or end is None):
            raise ScheduleError("DataAnalysisStartTime and DataAnalysisEndTime are required when the "
                                "ScheduleExpression is NOW.")
        if (start is None) != (end is None):
            raise ScheduleError("Specify both DataAnalysisStartTime and DataAnalysisEndTime, or neither.")
        window(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC), start, end)  # offsets parse, window is sane
    except ScheduleError as error:
        raise ValidationException(str(error)) from None
    return schedule, start, end


def _check(ctx: Context, request: Request) -> None:
    config = request["MonitoringScheduleConfig"]
    kind = config.get("MonitoringType")
    if kind != MONITORING_TYPE or config.get("MonitoringJobDefinition") is not None:
        raise ValidationException(
            f"MonitoringType {kind or '(none)'} is not supported: clarimon runs {MONITORING_TYPE} schedules, "
            "with MonitoringType ModelExplainability and a MonitoringJobDefinitionName."
        )
    if not config.get("MonitoringJobDefinitionName"):
        raise ValidationException("MonitoringScheduleConfig.MonitoringJobDefinitionName is required for "
                                  f"{MONITORING_TYPE} schedules.")
    try:
        definition = job_definitions.FAMILY.get(ctx, config["MonitoringJobDefinitionName"])
    except ResourceNotFound as missing:  # Create/UpdateMonitoringSchedule declare no ResourceNotFound for it
        raise ValidationException(missing.message) from None
    _, start, end = timing(config)
    job_input = definition.document["ModelExplainabilityJobInput"]
    source = job_input.get("EndpointInput") or job_input.get("BatchTransformInput") or {}
    try:  # the window each run analyses, as `runs` combines them: the schedule's offsets over the definition's
        window(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC), start or source.get("StartTimeOffset"),
               end or source.get("EndTimeOffset"))
    except ScheduleError as error:
        raise ValidationException(f"{error} (the offsets of job definition {definition.name} and of this "
                                  "schedule's ScheduleConfig together)") from None


def _columns(ctx: Context, request: Request) -> dict[str, Any]:
    config = request["MonitoringScheduleConfig"]
    definition = job_definitions.FAMILY.get(ctx, config["MonitoringJobDefinitionName"])
    return {"endpoint_name": definition.endpoint_name, "job_definition_name": definition.name,
            "monitoring_type": config["MonitoringType"]}


def _summary(item: Resource) -> Response:
    summary: Response = {"MonitoringScheduleName": item.name, "MonitoringScheduleArn": item.arn,
                         "CreationTime": item.creation_time, "LastModifiedTime": item.last_modified_time,
                         "MonitoringScheduleStatus": item.status, "MonitoringType": item.monitoring_type,
                         "MonitoringJobDefinitionName": item.job_definition_name}
    if item.endpoint_name is not None:
        summary["EndpointName"] = item.endpoint_name
    return summary


def _stop_executions(ctx: Context, conn: Connection, schedule: Resource) -> None:
    """A deleted schedule's running executions stop; its execution history stays, as in SageMaker."""
    query = executions.ExecutionQuery(ctx.account, ctx.region, limit=1000, schedule_name=schedule.name)
    now = ctx.now()
    for execution in executions.page(conn, query):
        if execution.processing_job_arn and EXECUTION.allows(execution.status, ExecutionStatus.STOPPING):
            processing_jobs.request_stop(conn, execution.processing_job_arn, now)


FAMILY = Family(
    kind=KIND,
    name="MonitoringScheduleName",
    arn="MonitoringScheduleArn",
    list_operation="ListMonitoringSchedules",
    summaries="MonitoringScheduleSummaries",
    summary=_summary,
    not_found=lambda name, arn: ResourceNotFound(f"Could not find monitoring schedule {name}."),
    taken=lambda name, arn: ResourceInUse(f"Monitoring schedule {name} already exists."),
    checks=(_check,),
    status=ScheduleStatus.SCHEDULED,
    status_member="MonitoringScheduleStatus",
    columns=_columns,
    on_delete=_stop_executions,
)

create, list_, delete = FAMILY.create, FAMILY.list_, FAMILY.delete


def describe(ctx: Context, request: Request) -> Response:
    """DescribeMonitoringSchedule, with its latest execution's summary."""
    schedule = FAMILY.get(ctx, request["MonitoringScheduleName"])
    response = {**FAMILY.described(schedule), "MonitoringType": schedule.monitoring_type}
    if schedule.endpoint_name is not None:
        response["EndpointName"] = schedule.endpoint_name
    with ctx.store.reading() as conn:
        last = executions.latest(conn, ctx.account, ctx.region, schedule.name)
    if last is not None and last.creation_time >= schedule.creation_time:
        response["LastMonitoringExecutionSummary"] = execution_summary(last)
    return response


def update(ctx: Context, request: Request) -> Response:
    """UpdateMonitoringSchedule: the new config, checked as at creation; the schedule is Scheduled after it.

    SageMaker resumes a Stopped schedule on update (the SDK's integration tests stop a schedule, update it and
    wait for Scheduled), and an update mends a Failed one; both moves are in the schedule's transition table."""
    schedule = FAMILY.get(ctx, request["MonitoringScheduleName"])
    _check(ctx, request)
    definition = job_definitions.FAMILY.get(ctx, request["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"])
    document = {**schedule.document, "MonitoringScheduleConfig": request["MonitoringScheduleConfig"]}
    document.pop("FailureReason", None)
    target = ScheduleStatus.SCHEDULED
    status = target if schedule.status != target and SCHEDULE.allows(schedule.status, target) else None
    with ctx.store.transaction() as conn:
        # As at creation: the request's s3:// URIs are the caller's; and so are those of the job definition it
        # switches to (checked when that was created, but bucket owners may have been configured since).
        buckets.check(ctx, conn, request)
        buckets.check(ctx, conn, definition.document)
        if not resources.update(conn, schedule.arn, ctx.now(), status=status, document=document,
                                columns=_columns(ctx, request)):
            raise FAMILY.not_found(schedule.name, schedule.arn)
    return {"MonitoringScheduleArn": schedule.arn}


def fail_schedule(services: Services, schedule: Resource, reason: str) -> None:
    """A schedule the scheduler cannot run ends Failed with `reason` (unless it changed meanwhile): its
    FailureReason says why, and an update that mends it makes it Scheduled again."""
    with services.store.transaction() as conn:
        current = resources.get(conn, schedule.arn, for_update=True)
        if current is None or current.last_modified_time != schedule.last_modified_time:
            return
        document = {**current.document, "FailureReason": without_folders(reason, services.settings.home)[:1024]}
        resources.update(conn, schedule.arn, services.now(), status=ScheduleStatus.FAILED, document=document)
    log.warning("schedule failed arn=%s reason=%s", schedule.arn, reason)


def start(ctx: Context, request: Request) -> Response:
    """StartMonitoringSchedule: Stopped -> Scheduled."""
    _transition(ctx, request["MonitoringScheduleName"], ScheduleStatus.SCHEDULED)
    return {}


def stop(ctx: Context, request: Request) -> Response:
    """StopMonitoringSchedule: Scheduled -> Stopped."""
    _transition(ctx, request["MonitoringScheduleName"], ScheduleStatus.STOPPED)
    return {}


def _transition(ctx: Context, name: str, target: ScheduleStatus) -> None:
    """The schedule becomes `target` where its table allows; a schedule already in `target` stays as it is (and
    keeps its modification time, which the scheduler counts new times from)."""
    arn = arns.arn(ctx, KIND, name)
    with ctx.store.transaction() as conn:
        schedule = resources.get(conn, arn, for_update=True)
        if schedule is None:
            raise FAMILY.not_found(name, arn)
        if schedule.status == target:
            return
        if SCHEDULE.allows(schedule.status, target):
            resources.update(conn, arn, ctx.now(), status=target)
        else:
            raise ValidationException(f"Monitoring schedule {name} is {schedule.status}; it cannot become {target}.")


def execution_summary(execution: Execution) -> Response:
    """An execution as ListMonitoringExecutions and DescribeMonitoringSchedule show it."""
    summary: Response = {
        "MonitoringScheduleName": execution.schedule_name,
        "ScheduledTime": execution.scheduled_time,
        "CreationTime": execution.creation_time,
        "LastModifiedTime": execution.last_modified_time,
        "MonitoringExecutionStatus": execution.status,
    }
    optional = {"ProcessingJobArn": execution.processing_job_arn, "EndpointName": execution.endpoint_name,
                "FailureReason": execution.failure_reason,
                "MonitoringJobDefinitionName": execution.job_definition_name,
                "MonitoringType": execution.monitoring_type}
    summary.update({k: v for k, v in optional.items() if v is not None})
    return summary
