"""Processing jobs: Create, Describe, List and Stop, and the transitions the runner makes.

A processing job is InProgress from its creation, then Completed, Failed or Stopped (Stopping while a stop is
asked for and the job's process has not yet ended). A monitoring execution runs as one; CreateProcessingJob
runs SageMaker Clarify's processing image (matched by repository name, any account and region): a job of any
other image is created Failed, saying what clarimon runs. A created job waits, InProgress and without a lease,
until a server's scheduler takes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control.context import Context, Request, Response
from clarimon.control.families import Family
from clarimon.control.states import EXECUTION, PROCESSING_JOB, ExecutionStatus, ProcessingJobStatus
from clarimon.errors import ValidationException
from clarimon.serving.runtimes import repository
from clarimon.store import executions, resources
from clarimon.store.resources import Resource

KIND = "processing-job"
CLARIFY_REPOSITORY = "sagemaker-clarify-processing"
RUN = "_run"  # a monitoring job document's private part: its MonitoringRun (never on the wire)
DEFAULT_MAX_RUNTIME = 3600  # seconds, when a job has no StoppingCondition
# Where Clarify's container reads its inputs and writes its results (the SDK's SageMakerClarifyProcessor).
CONFIG_PATH = "/opt/ml/processing/input/config"
DATA_PATH = "/opt/ml/processing/input/data"
OUTPUT_PATH = "/opt/ml/processing/output"


@dataclass(frozen=True)
class MonitoringRun:
    """What a monitoring execution's processing job needs beyond its public members: where its config, baseline
    and outputs are, its analysis window, and the endpoint's capture or the batch transform's output it reads."""

    config_uri: str
    constraints_uri: str | None
    output_uri: str
    start: float  # the analysis window [start, end), epoch seconds
    end: float
    endpoint: str | None  # the monitored endpoint; None for a batch transform input
    data_uri: str | None  # the batch transform's DataCapturedDestinationS3Uri; None for an endpoint input
    input: dict[str, Any]  # the job definition's EndpointInput or BatchTransformInput
    schedule: str

    def stored(self) -> dict[str, Any]:
        """As it is kept in the job's stored document, under `RUN`."""
        return asdict(self)

    @classmethod
    def of(cls, document: dict[str, Any]) -> MonitoringRun | None:
        """The run a stored job document carries, or None for a job made by CreateProcessingJob."""
        run = document.get(RUN)
        if run is None:
            return None
        # The store keeps no nulls: a member that was None comes back absent.
        return cls(**{item.name: run.get(item.name) for item in fields(cls)})


def _summary(item: Resource) -> Response:
    summary: Response = {"ProcessingJobName": item.name, "ProcessingJobArn": item.arn,
                         "CreationTime": item.creation_time, "LastModifiedTime": item.last_modified_time,
                         "ProcessingJobStatus": item.status}
    for member in ("ProcessingEndTime", "FailureReason", "ExitMessage"):
        if member in item.document:
            summary[member] = item.document[member]
    return summary


def unrunnable(request: Request) -> str | None:
    """Why clarimon cannot run this job, or None: the image must be Clarify's, with its config input."""
    image = request["AppSpecification"]["ImageUri"]
    if repository(image) != CLARIFY_REPOSITORY:
        return (f"ClientError: clarimon runs no containers: it runs SageMaker Clarify processing jobs (an ImageUri "
                f"whose repository is {CLARIFY_REPOSITORY}), not {image}.")
    paths = {(i.get("S3Input") or {}).get("LocalPath") for i in request.get("ProcessingInputs") or []}
    if CONFIG_PATH not in paths:
        return (f"ClientError: no ProcessingInput with LocalPath {CONFIG_PATH}: Clarify reads its "
                "analysis_config.json there.")
    if not (request.get("ProcessingOutputConfig") or {}).get("Outputs"):
        return f"ClientError: no ProcessingOutputConfig output: Clarify writes its results from {OUTPUT_PATH}."
    return None


def _opening(request: Request, now: float) -> tuple[str, dict[str, Any]]:
    """A Clarify job starts InProgress, waiting until a server runs it; any other job is created Failed."""
    problem = unrunnable(request)
    if problem is None:
        return ProcessingJobStatus.IN_PROGRESS, {}
    return ProcessingJobStatus.FAILED, {"FailureReason": problem, "ExitMessage": problem, "ProcessingEndTime": now}


FAMILY = Family(
    kind=KIND,
    name="ProcessingJobName",
    arn="ProcessingJobArn",
    list_operation="ListProcessingJobs",
    summaries="ProcessingJobSummaries",
    summary=_summary,
    # moto's wording; SageMaker answers a missing job with ValidationException too.
    not_found=lambda name, arn: ValidationException(f"Could not find processing job '{arn}'."),
    # SageMaker's words for a taken job name (its training jobs'; processing jobs' assumed the same).
    taken=lambda name, arn: ValidationException(
        f"Job name must be unique within an AWS account and region, and a job with this name already exists ({arn})"
    ),
    opening=_opening,
    status_member="ProcessingJobStatus",
)

create, describe, list_ = FAMILY.create, FAMILY.describe, FAMILY.list_


def stop(ctx: Context, request: Request) -> Response:
    """Ask the job to stop: Stopping now, Stopped once its process has ended (at once when no server has taken
    it yet)."""
    job = FAMILY.get(ctx, request["ProcessingJobName"])
    with ctx.store.transaction() as conn:
        current = resources.get(conn, job.arn, for_update=True)
        if current is None:
            raise FAMILY.not_found(job.name, job.arn)
        if not PROCESSING_JOB.allows(current.status, ProcessingJobStatus.STOPPING):
            raise ValidationException(
                f"The processing job {job.name} is {current.status}: only an InProgress job can be stopped."
            )
        if executions.lease_of(conn, job.arn) is None:  # created, not yet taken: nothing runs it
            finish(conn, job.arn, ctx.now(), ProcessingJobStatus.STOPPED,
                   exit_message="Stopped on request before it started.")
        else:
            request_stop(conn, job.arn, ctx.now())
    return {}


def request_stop(conn: Connection, arn: str, now: float) -> None:
    """InProgress -> Stopping, for the job and its monitoring execution (the runner ends the process)."""
    resources.update(conn, arn, now, status=ProcessingJobStatus.STOPPING)
    execution = executions.by_job(conn, arn)
    if execution is not None and EXECUTION.allows(execution.status, ExecutionStatus.STOPPING):
        executions.set_status(conn, arn, now, ExecutionStatus.STOPPING)


def finish(conn: Connection, arn: str, now: float, status: ProcessingJobStatus, *, exit_message: str | None = None,
           failure_reason: str | None = None) -> Resource | None:
    """The job ends with `status`; returns it as it was, or None when it is gone or had already ended."""
    job = resources.get(conn, arn, for_update=True)
    if job is None or not PROCESSING_JOB.allows(job.status, status):
        return None
    document: dict[str, Any] = {**job.document, "ProcessingEndTime": now}
    if exit_message:
        document["ExitMessage"] = exit_message[:1024]
    if failure_reason:
        document["FailureReason"] = failure_reason[:1024]
    resources.update(conn, arn, now, status=status, document=document)
    return job
