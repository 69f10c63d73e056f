"""What runs: a schedule's due times claimed as executions, and created processing jobs taken by a server.

A scheduled time becomes an execution row, its processing job and a lease in one transaction; the row is
unique per schedule and time, so with several servers on one database exactly one of them takes each time.
A job made by CreateProcessingJob waits without a lease until a server takes one (`queued`, `take`).
`clarimon.jobs.leases` follows a taken job to its end; `clarimon.jobs.preparation` turns it into the Task its
process runs.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from clarimon.control import arns, job_definitions, processing_jobs
from clarimon.control.context import Context, Services
from clarimon.control.cron import window
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.schedules import KIND as SCHEDULE_KIND
from clarimon.control.schedules import fail_schedule, timing
from clarimon.control.states import ExecutionStatus, ProcessingJobStatus, ScheduleStatus
from clarimon.errors import ServiceError
from clarimon.store import executions, resources
from clarimon.store.resources import Resource
from clarimon.timestamps import iso, utc

log = logging.getLogger("clarimon.claims")

MISSED = ("Missed: clarimon was not running at the scheduled time {time}; after a restart only the latest "
          "missed time of a schedule runs.")
BASELINE_PATH = "/opt/ml/processing/baseline/constraints"  # where Clarify finds a monitoring job's baseline


@dataclass(frozen=True)
class Due:
    """A schedule's times not yet taken: the last one runs, the earlier ones were missed."""

    schedule: Resource
    times: list[datetime.datetime]  # the last one runs; earlier ones were missed


def due(services: Services, now: float) -> list[Due]:
    """Every Scheduled schedule's times not yet taken, up to `now` (in every account and region). A schedule
    that cannot be planned ends Failed, saying why; the others are not held up by it."""
    found = []
    broken: list[tuple[Resource, str]] = []
    moment = utc(now)
    with services.store.reading() as conn:
        schedules = resources.with_status(conn, SCHEDULE_KIND, (ScheduleStatus.SCHEDULED,))
        for schedule in schedules:
            try:
                plan, _, _ = timing(schedule.document["MonitoringScheduleConfig"])
            except Exception as error:  # one schedule's bad document must not stop the others'
                broken.append((schedule, f"The schedule cannot be planned: {_reason(error)}"))
                continue
            latest = executions.latest(conn, schedule.account, schedule.region, schedule.name)
            # Times count from the schedule's last change (creation, update, start) or its latest execution.
            since = max(schedule.last_modified_time, latest.scheduled_time if latest else 0.0)
            if plan.now:
                times = [] if latest is not None and latest.scheduled_time >= schedule.last_modified_time else [
                    utc(schedule.last_modified_time)]
            else:
                times = plan.times(utc(since), moment)
            if times:
                found.append(Due(schedule, times))
    for schedule, reason in broken:
        fail_schedule(services, schedule, reason)
    return found


def _reason(error: Exception) -> str:
    return error.message if isinstance(error, ServiceError) else f"{type(error).__name__}: {error}"


def claim(services: Services, owner: str, item: Due) -> str | None:
    """Record the due times of one schedule; returns the ARN of the processing job to run, or None when
    another server took the time first (or the schedule changed meanwhile)."""
    schedule = item.schedule
    ctx = Context(schedule.account, schedule.region, services)
    now = ctx.now()
    config = schedule.document["MonitoringScheduleConfig"]
    common: dict[str, Any] = {"account": schedule.account, "region": schedule.region, "schedule_name": schedule.name,
              "endpoint_name": schedule.endpoint_name, "job_definition_name": schedule.job_definition_name,
              "monitoring_type": schedule.monitoring_type}
    scheduled = item.times[-1]
    name = f"model-monitoring-{scheduled:%Y%m%d%H%M}-{secrets.token_hex(12)}"
    arn = arns.arn(ctx, processing_jobs.KIND, name)
    try:
        document, failure = _job_document(ctx, schedule, config, scheduled), None
    except (ServiceError, ValueError, KeyError, TypeError) as error:  # e.g. BaseliningJobName names no job, or
        document, failure = None, _reason(error)  # a window that does not fit: this time fails, saying so
    try:
        with services.store.transaction() as conn:
            current = resources.get(conn, schedule.arn, for_update=True)
            if current is None or current.last_modified_time != schedule.last_modified_time \
                    or current.status != ScheduleStatus.SCHEDULED:
                return None
            for missed in item.times[:-1]:
                executions.insert(conn, scheduled_time=missed.timestamp(), now=now, status=ExecutionStatus.FAILED,
                                  failure_reason=MISSED.format(time=iso(missed)), **common)
            if document is None:
                executions.insert(conn, scheduled_time=scheduled.timestamp(), now=now,
                                  status=ExecutionStatus.FAILED, failure_reason=failure, **common)
                return None
            resources.insert(conn, kind=processing_jobs.KIND, account=ctx.account, region=ctx.region, name=name,
                             arn=arn, now=now, document=document, tags=[], status=ProcessingJobStatus.IN_PROGRESS)
            executions.insert(conn, scheduled_time=scheduled.timestamp(), now=now, status=ExecutionStatus.PENDING,
                              processing_job_arn=arn, **common)
            executions.take_lease(conn, arn, owner, time.time())
    except ServiceError:  # the unique (schedule, time) row exists: another server took it
        return None
    log.info("execution pending schedule=%s scheduled=%s job=%s missed=%d", schedule.arn, iso(scheduled), arn,
             len(item.times) - 1)
    return arn


def _job_document(ctx: Context, schedule: Resource, config: dict[str, Any],
                  scheduled: datetime.datetime) -> dict[str, Any]:
    definition = job_definitions.FAMILY.get(ctx, config["MonitoringJobDefinitionName"]).document
    job_input = definition["ModelExplainabilityJobInput"]
    endpoint_input = job_input.get("EndpointInput")
    source_input = endpoint_input or job_input["BatchTransformInput"]
    app = definition["ModelExplainabilityAppSpecification"]
    output = definition["ModelExplainabilityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]
    _, start_offset, end_offset = timing(config)
    start, end = window(scheduled, start_offset or source_input.get("StartTimeOffset"),
                        end_offset or source_input.get("EndTimeOffset"))
    endpoint = endpoint_input["EndpointName"] if endpoint_input else None
    folder = (f"{endpoint}/" if endpoint else "") + f"{schedule.name}/{scheduled:%Y/%m/%d/%H}"
    output_uri = f"{output['S3Uri'].rstrip('/')}/{folder}"
    constraints = _constraints_uri(ctx, definition.get("ModelExplainabilityBaselineConfig") or {})
    environment = {**(app.get("Environment") or {}), "start_time": iso(start), "end_time": iso(end),
                   "sagemaker_monitoring_schedule_name": schedule.name}
    if endpoint_input:
        environment["sagemaker_endpoint_name"] = endpoint_input["EndpointName"]
    inputs = [_input("analysis_config", app["ConfigUri"], processing_jobs.CONFIG_PATH)]
    if constraints:
        inputs.append(_input("baseline", constraints, BASELINE_PATH))
    data_uri = None if endpoint_input else source_input["DataCapturedDestinationS3Uri"]
    document: dict[str, Any] = {
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "result", "AppManaged": False, "S3Output": {
            "S3Uri": output_uri, "LocalPath": output.get("LocalPath", "/opt/ml/processing/output"),
            "S3UploadMode": output.get("S3UploadMode", "EndOfJob")}}]},
        "ProcessingResources": definition["JobResources"],
        "StoppingCondition": definition.get("StoppingCondition")
        or {"MaxRuntimeInSeconds": processing_jobs.DEFAULT_MAX_RUNTIME},
        "AppSpecification": {"ImageUri": app["ImageUri"]},
        "Environment": environment,
        "RoleArn": definition["RoleArn"],
        "MonitoringScheduleArn": schedule.arn,
        processing_jobs.RUN: MonitoringRun(
            config_uri=app["ConfigUri"], constraints_uri=constraints, output_uri=output_uri, start=start.timestamp(),
            end=end.timestamp(), endpoint=endpoint, data_uri=data_uri, input=source_input, schedule=schedule.name,
        ).stored(),
    }
    if output_config_kms := definition["ModelExplainabilityJobOutputConfig"].get("KmsKeyId"):
        document["ProcessingOutputConfig"]["KmsKeyId"] = output_config_kms
    if definition.get("NetworkConfig"):
        document["NetworkConfig"] = definition["NetworkConfig"]
    return document


def _input(name: str, uri: str, path: str) -> dict[str, Any]:
    return {"InputName": name, "AppManaged": False, "S3Input": {
        "S3Uri": uri, "LocalPath": path, "S3DataType": "S3Prefix", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated"}}


def _constraints_uri(ctx: Context, baseline: dict[str, Any]) -> str | None:
    """ConstraintsResource, or the analysis.json that the named baselining job wrote."""
    if (baseline.get("ConstraintsResource") or {}).get("S3Uri"):
        return str(baseline["ConstraintsResource"]["S3Uri"])
    if baseline.get("BaseliningJobName"):
        job = processing_jobs.FAMILY.get(ctx, baseline["BaseliningJobName"]).document
        outputs = job.get("ProcessingOutputConfig", {}).get("Outputs") or [{}]
        return f"{outputs[0].get('S3Output', {}).get('S3Uri', '').rstrip('/')}/analysis.json"
    return None


def queued(services: Services) -> list[str]:
    """Created processing jobs no server has taken yet, oldest first."""
    with services.store.reading() as conn:
        return [job.arn for job in resources.with_status(conn, processing_jobs.KIND, (ProcessingJobStatus.IN_PROGRESS,))
                if processing_jobs.RUN not in job.document and executions.lease_of(conn, job.arn) is None]


def take(services: Services, owner: str, arn: str) -> bool:
    """Take a created job for this server (its lease); False when another server took it first."""
    try:
        with services.store.transaction() as conn:
            job = resources.get(conn, arn, for_update=True)
            if job is None or job.status != ProcessingJobStatus.IN_PROGRESS:
                return False
            executions.take_lease(conn, arn, owner, time.time())
    except ServiceError:  # the lease row exists: another server has it
        return False
    return True


