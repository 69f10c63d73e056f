"""The scheduler: a thread that turns schedules' due times into executions and hands them to the runner.

Every `interval` seconds it ends the jobs of servers that died (stale leases), then claims each schedule's due
time, then takes the processing jobs created by CreateProcessingJob that no server has taken; a claim and a
take are unique rows, so with several servers on one database each time and each job runs once.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from clarimon.control import schedules
from clarimon.control.context import Services
from clarimon.jobs import claims, leases
from clarimon.jobs.runner import Runner

log = logging.getLogger("clarimon.scheduler")


class Scheduler:
    """The scheduling thread of one server, and the runner of the jobs it takes."""

    def __init__(self, services: Services, *, interval: float, lease_seconds: float, concurrency: int) -> None:
        self.services = services
        self.interval = interval
        self.lease_seconds = lease_seconds
        self.runner = Runner(services, leases.owner_id(), concurrency=concurrency, lease_seconds=lease_seconds)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="clarimon-scheduler")

    def start(self) -> None:
        """Start ticking every `interval` seconds."""
        self._thread.start()

    def close(self) -> None:
        """Stop ticking, then stop the runner's jobs."""
        self._closing.set()
        self._thread.join(timeout=30)
        self.runner.close()

    def tick(self) -> int:
        """One round: fail what dead servers left running, start what is due; returns how many started.

        Each schedule and job is handled on its own: one that fails is logged (and a schedule that cannot be run
        ends Failed, saying why) while the others go on."""
        failed = leases.fail_stale(self.services, self.lease_seconds)
        if failed:
            log.warning("jobs of stopped servers ended Failed count=%d", failed)
        started = 0
        for item in claims.due(self.services, self.services.clock()):
            try:
                arn = claims.claim(self.services, self.runner.owner, item)
            except sa.exc.SQLAlchemyError:  # the database, not the schedule: the next tick tries again
                log.exception("claim failed schedule=%s", item.schedule.arn)
                continue
            except Exception as error:  # this schedule's bug must not hold up the others
                log.exception("claim failed schedule=%s", item.schedule.arn)
                schedules.fail_schedule(self.services, item.schedule,
                                        f"InternalFailure: {type(error).__name__}: {error}")
                continue
            if arn is not None:
                self.runner.submit(arn)
                started += 1
        for arn in claims.queued(self.services):  # CreateProcessingJob's jobs
            try:
                taken = claims.take(self.services, self.runner.owner, arn)
            except Exception:  # logged; the job stays queued for the next tick
                log.exception("take failed job=%s", arn)
                continue
            if taken:
                self.runner.submit(arn)
                started += 1
        return started

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.tick()
            except Exception:  # the database may be briefly away: keep scheduling
                log.exception("scheduler tick failed")
            self._closing.wait(self.interval)
