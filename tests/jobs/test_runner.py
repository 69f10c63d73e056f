"""The runner records how a job ended when its process never starts (the jobs' own runs are end to end)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clarimon.control import processing_jobs
from clarimon.control.context import Context
from clarimon.jobs import claims
from clarimon.jobs.runner import Runner
from clarimon.store import executions
from tests.documents import clarify_job
from tests.servers import eventually


@pytest.fixture
def runner(ctx: Context) -> Iterator[Runner]:
    started = Runner(ctx.services, "server-a", concurrency=1, lease_seconds=30)
    yield started
    started.close()


def test_a_job_that_cannot_be_prepared_ends_failed_and_frees_its_lease(ctx: Context, runner: Runner) -> None:
    arn = processing_jobs.create(ctx, clarify_job("no-config", config="s3://bucket/nothing/"))["ProcessingJobArn"]
    assert claims.take(ctx.services, runner.owner, arn)
    runner.submit(arn)

    def ended() -> dict[str, object] | None:
        described = processing_jobs.describe(ctx, {"ProcessingJobName": "no-config"})
        return described if described["ProcessingJobStatus"] != "InProgress" else None

    described = eventually(ended, 30, lambda: "the job did not end")
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"] == described["ExitMessage"] == (
        "No analysis_config.json under the config input s3://bucket/nothing/.")
    with ctx.store.reading() as conn:
        assert executions.lease_of(conn, arn) is None

