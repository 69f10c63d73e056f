"""Which running jobs a server ends as lost: stale leases, and leases of this host's processes that are gone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from clarimon.control import processing_jobs
from clarimon.control.context import Services
from clarimon.control.states import ProcessingJobStatus
from clarimon.jobs import leases
from clarimon.store import executions, resources

HOST = socket.gethostname()[:40]


def running_job(services: Services, name: str, owner: str, heartbeat: float) -> str:
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:processing-job/{name}"
    with services.store.transaction() as conn:
        resources.insert(conn, kind=processing_jobs.KIND, account="000000000000", region="us-east-1", name=name,
                         arn=arn, now=time.time(), document={}, tags=[], status="InProgress")
        executions.take_lease(conn, arn, owner, heartbeat)
    return arn


def status(services: Services, arn: str) -> tuple[str | None, str | None]:
    with services.store.reading() as conn:
        job = resources.get(conn, arn)
    assert job is not None
    return job.status, job.document.get("FailureReason")


def test_stale_and_orphaned_leases_end_their_jobs_failed(services: Services) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    now = time.time()
    live_elsewhere = running_job(services, "live", "elsewhere:123:abcd", now)
    stale_elsewhere = running_job(services, "stale", "elsewhere:123:abcd", now - 120)
    dead_here = running_job(services, "dead", f"{HOST}:{gone.stdout.strip()}:abcd", now)
    mine = running_job(services, "mine", leases.owner_id(), now)

    assert leases.fail_stale(services, lease_seconds=60) == 2
    assert status(services, live_elsewhere) == ("InProgress", None)
    assert status(services, mine) == ("InProgress", None)
    for arn in (stale_elsewhere, dead_here):
        state, reason = status(services, arn)
        assert state == "Failed"
        assert reason is not None and reason.startswith("The server running this job stopped before the job finished")


def test_an_ending_reason_names_no_folder_of_the_server(services: Services) -> None:
    arn = running_job(services, "leaky", leases.owner_id(), time.time())
    home = services.settings.home
    reason = f"InternalFailure: FileNotFoundError: [Errno 2] No such file: '{home.resolve()}/models/x/model.joblib'"
    leases.ended(services, arn, ProcessingJobStatus.FAILED, reason, reason)
    assert status(services, arn) == ("Failed", "InternalFailure: FileNotFoundError: [Errno 2] No such file: "
                                               "'<home>/models/x/model.joblib'")
