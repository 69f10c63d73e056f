"""Processing jobs as operations: what is created runnable or Failed, and how Stop goes through the table."""

from __future__ import annotations

import pytest

from clarimon.control import processing_jobs
from clarimon.control.context import Context
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.states import ProcessingJobStatus
from clarimon.errors import ValidationException
from clarimon.store import executions, resources
from tests.documents import clarify_job


def describe(ctx: Context, name: str) -> dict[str, object]:
    return processing_jobs.describe(ctx, {"ProcessingJobName": name})


def test_a_clarify_job_waits_in_progress_and_another_image_fails(ctx: Context) -> None:
    processing_jobs.create(ctx, clarify_job("baseline"))
    assert describe(ctx, "baseline")["ProcessingJobStatus"] == "InProgress"
    processing_jobs.create(ctx, clarify_job("spark", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/spark:3"))
    failed = describe(ctx, "spark")
    assert failed["ProcessingJobStatus"] == "Failed"
    assert str(failed["FailureReason"]).startswith("ClientError: clarimon runs no containers")


def test_stop_before_a_server_took_the_job_stops_it_at_once(ctx: Context) -> None:
    processing_jobs.create(ctx, clarify_job("waiting"))
    processing_jobs.stop(ctx, {"ProcessingJobName": "waiting"})
    stopped = describe(ctx, "waiting")
    assert stopped["ProcessingJobStatus"] == "Stopped"
    assert stopped["ExitMessage"] == "Stopped on request before it started."
    with pytest.raises(ValidationException, match="only an InProgress job can be stopped"):
        processing_jobs.stop(ctx, {"ProcessingJobName": "waiting"})


def test_stop_of_a_taken_job_asks_its_runner_and_its_execution(ctx: Context) -> None:
    arn = processing_jobs.create(ctx, clarify_job("taken"))["ProcessingJobArn"]
    with ctx.store.transaction() as conn:
        executions.take_lease(conn, arn, "server-a", 1.0)
        executions.insert(conn, account=ctx.account, region=ctx.region, schedule_name="s", scheduled_time=3600.0,
                          now=ctx.now(), status="Pending", endpoint_name=None, job_definition_name="d",
                          monitoring_type="ModelExplainability", processing_job_arn=arn)
    processing_jobs.stop(ctx, {"ProcessingJobName": "taken"})
    assert describe(ctx, "taken")["ProcessingJobStatus"] == "Stopping"
    with ctx.store.transaction() as conn:
        execution = executions.by_job(conn, arn)
        assert execution is not None and execution.status == "Stopping"
        ended = processing_jobs.finish(conn, arn, ctx.now(), ProcessingJobStatus.STOPPED, exit_message="bye")
        assert ended is not None and ended.status == "Stopping"  # as it was
        # An ended job ends once: the table has no way out of Stopped.
        assert processing_jobs.finish(conn, arn, ctx.now(), ProcessingJobStatus.FAILED) is None
    assert (describe(ctx, "taken")["ProcessingJobStatus"], describe(ctx, "taken")["ExitMessage"]) == ("Stopped", "bye")


def test_the_monitoring_run_is_stored_privately_and_read_back_typed(ctx: Context) -> None:
    run = MonitoringRun(config_uri="s3://b/c.json", constraints_uri=None, output_uri="s3://b/out", start=0.0,
                        end=3600.0, endpoint="ep", data_uri=None, input={"EndpointName": "ep"}, schedule="s")
    document = {"ProcessingJobName": "x", processing_jobs.RUN: run.stored()}
    assert MonitoringRun.of(document) == run
    assert MonitoringRun.of({"ProcessingJobName": "x"}) is None
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind=processing_jobs.KIND, account=ctx.account, region=ctx.region, name="x",
                         arn="arn:x", now=1.0, document=document, tags=[], status="InProgress")
    with ctx.store.reading() as conn:
        stored = resources.get(conn, "arn:x")
    assert stored is not None and MonitoringRun.of(stored.document) == run
