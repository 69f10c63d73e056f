"""Processing jobs run in worker processes off the API process, at most `concurrency` at once.

Each job gets a process of its own (non-daemonic, so that `InstanceCount` > 1 can split it further) that exits
when this process dies. Where the platform has a fork server, jobs are forked from it after it imported
`clarimon.jobs.warm` once (the engine, the model libraries): a job starts in milliseconds, not seconds.
The runner renews the leases of its jobs, ends a job past its MaxRuntimeInSeconds or asked to stop, and
records how each one ended.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from clarimon.control import arns
from clarimon.control.context import Services
from clarimon.control.states import ExecutionStatus, ProcessingJobStatus
from clarimon.errors import ServiceError
from clarimon.jobs import analysis, leases, preparation
from clarimon.jobs.task import Outcome, Task
from clarimon.serving import log_files
from clarimon.serving.artifacts import ArtifactError
from clarimon.serving.lifeline import PROCESSES, die_with_parent
from clarimon.store import executions

log = logging.getLogger("clarimon.runner")

POLL_SECONDS = 0.25


def job_context(preload: Sequence[str] = ()) -> Any:
    """Where job processes come from: the fork server (preloaded with `preload` and clarimon.jobs.warm) or,
    without one, spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*preload, "clarimon.jobs.warm"])
    return context


@dataclass
class _Running:
    arn: str
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)


class Runner:
    """Runs the jobs this server took, each in a process of its own, and records how each one ended.

    `preload`: modules the fork server imports besides clarimon.jobs.warm (a job re-imports the main script
    that started the server)."""

    def __init__(self, services: Services, owner: str, *, concurrency: int, lease_seconds: float,
                 preload: Sequence[str] = ()) -> None:
        self.services = services
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._context = job_context(preload)
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
        if job.stop.is_set() or self._closing.is_set():
            self._end_stopped(job, 0.0)
            return
        try:
            task = preparation.task(self.services, job.arn)
        except ServiceError as error:
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, error.message, error.message)
            return
        except (ArtifactError, OSError, ValueError) as error:
            reason = f"Cannot prepare the model for the job: {error}"
            leases.ended(self.services, job.arn, ProcessingJobStatus.FAILED, reason, reason)
            return
        limit = preparation.max_runtime(self.services, job.arn)
        stream = self._stream(job.arn, task.job_name, leases.started(self.services, job.arn))
        clock_file = self.services.settings.clock_file
        task = dataclasses.replace(task, log_file=str(stream), clock_file=str(clock_file) if clock_file else None)
        log.info("job started arn=%s instances=%d max_runtime=%s", job.arn, task.instance_count, limit)
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=job_main, args=(task, sender), daemon=False,
                                        name="clarimon-execution")
        process.start()
        PROCESSES.add(process.pid)
        sender.close()
        started = time.monotonic()
        outcome: Outcome | None = None
        while outcome is None:
            if receiver.poll(POLL_SECONDS):
                try:
                    outcome = receiver.recv()
                except EOFError:
                    break  # the process died without an answer
            elif not process.is_alive():
                if receiver.poll(0):
                    continue
                break
            elif time.monotonic() - started > limit or job.stop.is_set():
                break
        _end(process)
        PROCESSES.remove(process.pid)
        elapsed = time.monotonic() - started
        if outcome is not None:
            ending = ProcessingJobStatus.FAILED if outcome.status == ExecutionStatus.FAILED \
                else ProcessingJobStatus.COMPLETED
            leases.ended(self.services, job.arn, ending, outcome.exit_message, outcome.failure_reason, outcome.status)
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
            reason = f"The job's process ended unexpectedly (exit code {process.exitcode}); see the server's log."
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


def job_main(task: Task, sender: Connection) -> None:
    """A job's process: run the execution, send its Outcome."""
    die_with_parent()
    try:
        outcome = analysis.run(task)
    except Exception as error:  # a bug, not the user's input: say so rather than hang the parent
        detail = "".join(traceback.format_exception_only(error)).strip()
        outcome = Outcome(ExecutionStatus.FAILED, f"InternalFailure: {detail}", f"InternalFailure: {detail}")
    sender.send(outcome)
    sender.close()


def _end(process: Any) -> None:
    if process.is_alive():
        process.terminate()
        process.join(timeout=10)
    if process.is_alive():
        process.kill()
    process.join(timeout=10)
