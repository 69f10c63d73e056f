"""Processing jobs run in worker processes off the API process, at most `concurrency` at once.

Each job gets a process of its own, forked from a warm parent (`clarimon.serving.zygotes`) that imported
`clarimon.jobs.warm` once (the engine, the model libraries): a job starts in milliseconds, not seconds. The
process starts in a box: an environment without the server's settings and secrets (it keeps what reaching the
object store needs: the `AWS_*` variables and HOME, whose ~/.aws a boto3 client reads) and the
`--worker-memory-mb` limit. It runs as the server's user, since it reads and writes the objects of the job's
account itself. It exits when this process dies.
The runner renews the leases of its jobs, ends a job past its MaxRuntimeInSeconds or asked to stop, and
records how each one ended.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from clarimon.control import arns
from clarimon.control.context import Services
from clarimon.control.states import ExecutionStatus, ProcessingJobStatus
from clarimon.errors import ServiceError
from clarimon.jobs import analysis, leases, preparation
from clarimon.jobs.task import Outcome, Task
from clarimon.serving import boxes, log_files
from clarimon.serving.artifacts import ArtifactError, Lease
from clarimon.serving.lifeline import PROCESSES
from clarimon.serving.zygotes import Child, ZygoteFailed, Zygotes
from clarimon.store import executions

log = logging.getLogger("clarimon.runner")

POLL_SECONDS = 0.25


JOB_MODULES = ("clarimon.jobs.runner", "clarimon.jobs.warm")
# What a job's process keeps of the server's environment besides a model's: how to reach the object store.
OBJECT_STORE_ENVIRONMENT = ("HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                            "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                            "AWS_CA_BUNDLE")


def start_job(zygotes: Zygotes, task: Task) -> Child:
    """A process running `task`, forked from the jobs' warm parent; it sends its Outcome on its connection."""
    child = zygotes.fork(JOB_MODULES, "clarimon.jobs.runner:job_child", keep=OBJECT_STORE_ENVIRONMENT)
    try:
        child.connection.send(task)
    except BaseException:
        _end(child)
        raise
    return child


@dataclass
class _Running:
    arn: str
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)


class Runner:
    """Runs the jobs this server took, each in a process of its own, and records how each one ended."""

    def __init__(self, services: Services, owner: str, *, concurrency: int, lease_seconds: float) -> None:
        self.services = services
        self.owner = owner
        self.lease_seconds = lease_seconds
        # No user for the job's process itself (it reads and writes the account's objects); its model's code
        # runs in a process of its own that takes --worker-user (analysis._part_process).
        self._zygotes = Zygotes(boxes.Box(services.settings.worker_memory_mb), services.settings.home / boxes.BOXES)
        self._model_user = boxes.Box(user=services.settings.worker_user).account()
        self._slots = threading.Semaphore(max(1, concurrency))
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._heart = threading.Thread(target=self._beat, daemon=True, name="clarimon-heartbeat")
        self._heart.start()

    def submit(self, arn: str) -> None:
        """Run the processing job `arn` (its lease is this runner's) when a slot is free."""
        job = _Running(arn)
        with self._lock:
            self._running[arn] = job
        thread = threading.Thread(target=self._run, args=(job,), daemon=True, name="clarimon-job")
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        """Stop every job: each ends Failed, saying the server stopped."""
        self._closing.set()
        with self._lock:
            jobs = list(self._running.values())
        for job in jobs:
            job.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._heart.join(timeout=5)
        self._zygotes.stop()

    def _beat(self) -> None:
        """Renew this runner's leases, and pass on stop requests, until closed."""
        interval = max(0.2, min(self.lease_seconds / 3, 10.0))
        while not self._closing.wait(interval):
            try:
                with self.services.store.transaction() as conn:
                    executions.beat(conn, self.owner, time.time())
                with self._lock:
                    jobs = dict(self._running)
                for arn in leases.stop_requested(self.services, list(jobs)):
                    jobs[arn].stop.set()
            except Exception:  # a database hiccup must not end the heartbeat; the next beat retries
                log.exception("heartbeat failed owner=%s", self.owner)

    def _run(self, job: _Running) -> None:
        try:
            with self._slots:
                self._execute(job)
        except Exception as error:  # never leave a job InProgress because of a bug here
            log.exception("job crashed arn=%s", job.arn)
            reason = f"InternalFailure: {type(error).__name__}: {error}"
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)
        finally:
            with self._lock:
                self._running.pop(job.arn, None)

    def _execute(self, job: _Running) -> None:
        held: list[Lease] = []  # the model archives the job's process reads, kept unpacked until it ends
        try:
            self._prepared(job, held)
        finally:
            for archive in held:
                archive.release()

    def _prepared(self, job: _Running, held: list[Lease]) -> None:
        if job.stop.is_set() or self._closing.is_set():
            self._end_stopped(job, 0.0)
            return
        try:
            task = preparation.task(self.services, job.arn, held)
        except ServiceError as error:
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, error.message, error.message)
            return
        except (ArtifactError, OSError, ValueError) as error:
            # an OSError's text names a folder of this server: its reason only
            detail = (error.strerror or type(error).__name__) if isinstance(error, OSError) else str(error)
            reason = f"Cannot prepare the model for the job: {detail}"
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)
            return
        if self._model_user is not None:
            task = dataclasses.replace(task, model_user=(self._model_user.uid, self._model_user.gid))
        limit = preparation.max_runtime(self.services, job.arn)
        stream = self._stream(job.arn, task.job_name, leases.started(self.services, job.arn))
        clock_file = self.services.settings.clock_file
        task = dataclasses.replace(task, log_file=str(stream), clock_file=str(clock_file) if clock_file else None)
        log.info("job started arn=%s instances=%d max_runtime=%s", job.arn, task.instance_count, limit)
        try:
            process = start_job(self._zygotes, task)
        except (ZygoteFailed, OSError) as error:
            reason = f"InternalFailure: the job's process could not be started: {error}"
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)
            return
        started = time.monotonic()
        outcome: Outcome | None = None
        while outcome is None:
            if process.connection.poll(POLL_SECONDS):
                try:
                    outcome = process.connection.recv()
                except (EOFError, OSError):
                    break  # the process died without an answer
            elif not process.is_alive():
                if process.connection.poll(0):
                    continue
                break
            elif time.monotonic() - started > limit or job.stop.is_set():
                break
        _end(process)
        elapsed = time.monotonic() - started
        if outcome is not None:
            ending = ProcessingJobStatus.FAILED if outcome.status == ExecutionStatus.FAILED \
                else ProcessingJobStatus.COMPLETED
            leases.ended(self.services, job.arn, ending, outcome.exit_message, outcome.failure_reason, outcome.status,
                         outcome)
            log.info("job timings arn=%s rows=%d %s", job.arn, outcome.rows,
                     " ".join(f"{k}={v:.3f}" for k, v in outcome.timings.items()))
        elif elapsed > limit:
            message = (f"MaxRuntimeExceeded: the job ran past StoppingCondition.MaxRuntimeInSeconds ({limit:g} s) "
                       "and was stopped.")
            self._note(stream, message)
            leases.ended(self.services, job.arn, ProcessingJobStatus.STOPPED, message, message)
        elif job.stop.is_set():
            self._note(stream, "Stopping the job on request.")
            self._end_stopped(job, elapsed)
        else:
            reason = "The job's process ended unexpectedly; see the server's log."
            self._note(stream, reason)
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)

    def _stream(self, arn: str, job_name: str, started: float) -> Path:
        """The file of the job's log stream (`<job>/algo-1-<epoch seconds>` in its account's logs)."""
        parts = arns.parse(arn)
        account, region = (parts.account, parts.region) if parts else (self.services.settings.account, "-")
        return log_files.job_stream(self.services.settings.home, account, region, job_name, started)

    def _note(self, stream: Path, message: str) -> None:
        """A line in the job's log stream about an ending the job's process could not write itself."""
        writer = log_files.LogWriter(stream, self.services.clock)
        try:
            writer(message)
        finally:
            writer.close()

    def _end_stopped(self, job: _Running, elapsed: float) -> None:
        if self._closing.is_set():  # a clean stop of the server: the job will not come back
            reason = "The server stopped while the job ran; clarimon does not retry it."
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)
        else:
            leases.ended(self.services, job.arn, ProcessingJobStatus.STOPPED,
                         f"Stopped on request after {elapsed:.1f} s.", None)


def job_child(connection: Connection) -> None:
    """A job's process (forked by the jobs' warm parent): receive the Task, run it, send its Outcome."""
    job_main(connection.recv(), connection)


def job_main(task: Task, sender: Connection) -> None:
    """Run the execution `task` in this process and send its Outcome on `sender`."""
    try:
        outcome = analysis.run(task)
    except MemoryError:
        reason = ("MemoryError: the job ran out of memory"
                  + (f": its process may use {boxes.limit_mb} MB beyond its libraries (--worker-memory-mb)"
                     if boxes.limit_mb else ""))
        outcome = Outcome(ExecutionStatus.FAILED, reason, reason)
    except Exception as error:  # a bug, not the user's input: say so rather than hang the parent
        detail = "".join(traceback.format_exception_only(error)).strip()
        outcome = Outcome(ExecutionStatus.FAILED, f"InternalFailure: {detail}", f"InternalFailure: {detail}")
    sender.send(outcome)
    sender.close()


def _end(process: Child) -> None:
    if process.is_alive():
        process.kill(signal.SIGTERM)
        process.join(timeout=10)
    if process.is_alive():
        process.kill()
    process.join(timeout=10)
    PROCESSES.remove(process.pid)
    process.close()
