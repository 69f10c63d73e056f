"""The life of a taken processing job: started, asked to stop, ended; and the leases of servers that died.

    execution:       Pending -> InProgress -> Completed | CompletedWithViolations | Failed | Stopped
                     (Pending | InProgress) -> Stopping -> Stopped
    processing job:  InProgress -> Completed | Failed | Stopped;  InProgress -> Stopping -> Stopped

(`clarimon.control.states` holds these tables.) The taker renews its lease while the job runs; a job whose
lease goes stale (its server died) ends Failed.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

from clarimon.control import monitoring_results, processing_jobs
from clarimon.control.context import Services
from clarimon.control.states import EXECUTION, RUNNING, ExecutionStatus, ProcessingJobStatus
from clarimon.errors import without_folders
from clarimon.jobs.task import Outcome
from clarimon.store import executions, resources
from clarimon.timestamps import iso, utc

log = logging.getLogger("clarimon.leases")


def started(services: Services, arn: str) -> float:
    """Pending -> InProgress (the job's process is starting); when, in epoch seconds."""
    with services.store.transaction() as conn:
        job = resources.get(conn, arn, for_update=True)
        now = services.now()
        if job is None or job.status != ProcessingJobStatus.IN_PROGRESS:
            return now
        resources.update(conn, arn, now, document={**job.document, "ProcessingStartTime": now})
        execution = executions.by_job(conn, arn)
        if execution is not None and EXECUTION.allows(execution.status, ExecutionStatus.IN_PROGRESS):
            executions.set_status(conn, arn, now, ExecutionStatus.IN_PROGRESS)
    return now


def stop_requested(services: Services, arns_: list[str]) -> set[str]:
    """Which of these jobs someone asked to stop."""
    with services.store.reading() as conn:
        return resources.with_status_among(conn, arns_, ProcessingJobStatus.STOPPING)


def ended(services: Services, arn: str, status: ProcessingJobStatus, exit_message: str | None,
          failure_reason: str | None, execution_status: ExecutionStatus | None = None,
          outcome: Outcome | None = None) -> None:
    """The job's process is over: the job ends `status` (Completed, Failed, Stopped), its execution
    `execution_status` (default the same) with its result recorded (what `outcome` found) and its schedule's
    alerts evaluated, and the lease is released."""
    # The last place a reason passes before a caller can read it: whatever produced it, no server folder.
    home = services.settings.home
    exit_message = None if exit_message is None else without_folders(exit_message, home)
    failure_reason = None if failure_reason is None else without_folders(failure_reason, home)
    with services.store.transaction() as conn:
        executions.release(conn, arn)
        now = services.now()
        job = processing_jobs.finish(conn, arn, now, status, exit_message=exit_message,
                                     failure_reason=failure_reason)
        if job is None:
            return
        final = execution_status or ExecutionStatus(status)
        executions.set_status(conn, arn, now, final, failure_reason)
        execution = executions.by_job(conn, arn)
        if execution is not None:
            labels, violations = (outcome.labels, outcome.violations) if outcome is not None else ((), ())
            monitoring_results.record(conn, execution, final, monitoring_results.ending(job, now, labels, violations))
    log.info("job ended arn=%s status=%s execution=%s reason=%s", arn, status, execution_status or status,
             failure_reason or "-")


def owner_id() -> str:
    """A server process's name on its leases: host, pid and a nonce (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """Whether a lease's owner is a process of this host that no longer exists (a server that crashed here and
    restarted need not wait for its old leases to expire)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def fail_stale(services: Services, lease_seconds: float) -> int:
    """End Failed every running job whose server stopped renewing its lease, or is known dead; returns how many."""
    limit = time.time() - lease_seconds
    with services.store.reading() as conn:
        running = resources.with_status(conn, processing_jobs.KIND, RUNNING)
        stale = []
        for job in running:
            lease = executions.lease_of(conn, job.arn)
            # No lease: created, not yet taken (see `queued`).
            if lease is not None and (lease[1] < limit or owner_gone(lease[0])):
                stale.append((job.arn, lease))
    for arn, lease in stale:
        when = iso(utc(lease[1]))
        reason = (f"The server running this job stopped before the job finished (its last heartbeat was at {when});"
                  " clarimon does not retry it: the next scheduled time runs as usual.")
        try:
            ended(services, arn, ProcessingJobStatus.FAILED, reason, reason)
        except Exception:  # one job's row must not keep the others running for ever; the next tick retries it
            log.exception("ending a stale job failed arn=%s", arn)
    return len(stale)
