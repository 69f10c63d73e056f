"""Processing jobs: Describe, List and Stop, and the transitions the runner makes.

A processing job is InProgress from its creation, then Completed, Failed or Stopped (Stopping while a stop is
asked for and the job's process has not yet ended). A monitoring execution runs as one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control.context import Context, Request, Response
from clarimon.control.families import Family
from clarimon.errors import ValidationException
from clarimon.store import executions, resources
from clarimon.store.resources import Resource

KIND = "processing-job"
RUNNING = ("InProgress", "Stopping")


def _summary(item: Resource) -> Response:
    summary: Response = {"ProcessingJobName": item.name, "ProcessingJobArn": item.arn,
                         "CreationTime": item.creation_time, "LastModifiedTime": item.last_modified_time,
                         "ProcessingJobStatus": item.status}
    for member in ("ProcessingEndTime", "FailureReason", "ExitMessage"):
        if member in item.document:
            summary[member] = item.document[member]
    return summary


FAMILY = Family(
    kind=KIND,
    name="ProcessingJobName",
    arn="ProcessingJobArn",
    list_operation="ListProcessingJobs",
    summaries="ProcessingJobSummaries",
    summary=_summary,
    # moto's wording; SageMaker answers a missing job with ValidationException too.
    not_found=lambda name, arn: ValidationException(f"Could not find processing job '{arn}'."),
    taken=lambda name, arn: ValidationException(f"Processing job {name} already exists."),
    status="InProgress",
)

list_ = FAMILY.list_


def describe(ctx: Context, request: Request) -> Response:
    job = FAMILY.get(ctx, request["ProcessingJobName"])
    return {**job.document, "ProcessingJobName": job.name, "ProcessingJobArn": job.arn,
            "ProcessingJobStatus": job.status, "CreationTime": job.creation_time,
            "LastModifiedTime": job.last_modified_time}


def stop(ctx: Context, request: Request) -> Response:
    """Ask the job to stop: Stopping now, Stopped once its process has ended."""
    job = FAMILY.get(ctx, request["ProcessingJobName"])
    with ctx.store.transaction() as conn:
        current = resources.get(conn, job.arn, for_update=True)
        if current is None:
            raise FAMILY.not_found(job.name, job.arn)
        if current.status != "InProgress":
            raise ValidationException(
                f"The processing job {job.name} is {current.status}: only an InProgress job can be stopped."
            )
        request_stop(conn, job.arn, ctx.now())
    return {}


def request_stop(conn: Connection, arn: str, now: float) -> None:
    """InProgress -> Stopping, for the job and its monitoring execution (the runner ends the process)."""
    resources.update(conn, arn, now, status="Stopping")
    execution = executions.by_job(conn, arn)
    if execution is not None and execution.status in ("Pending", "InProgress"):
        executions.set_status(conn, arn, now, "Stopping")


def finish(conn: Connection, arn: str, now: float, status: str, *, exit_message: str | None = None,
           failure_reason: str | None = None) -> Resource | None:
    """The job ends with `status`; returns it as it was, or None when it is gone or had already ended."""
    job = resources.get(conn, arn, for_update=True)
    if job is None or job.status not in RUNNING:
        return None
    document: dict[str, Any] = {**job.document, "ProcessingEndTime": now}
    if exit_message:
        document["ExitMessage"] = exit_message[:1024]
    if failure_reason:
        document["FailureReason"] = failure_reason[:1024]
    resources.update(conn, arn, now, status=status, document=document)
    return job
