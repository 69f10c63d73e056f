"""Which running jobs a server ends as lost: stale leases, and leases of this host's processes that are gone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from clarimon.config import Settings
from clarimon.control import processing_jobs
from clarimon.control.context import Services
from clarimon.jobs import leases
from clarimon.objects import LocalObjects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store, executions, resources
from tests.conftest import database_url

HOST = socket.gethostname()[:40]


@pytest.fixture
def services(backend: str, tmp_path: Path) -> Iterator[Services]:
    with ExitStack() as stack:
        store = Store(database_url(stack, backend, tmp_path))
        store.upgrade()
        objects = LocalObjects(tmp_path / "s3")
        capture = CaptureWriter(objects)
        yield Services(store, Settings(home=tmp_path, database_url=""), time.time, objects, Host(), capture)
        capture.close()
        store.close()


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
