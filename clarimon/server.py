"""The composition root: one server's services (store, objects, model host, capture writer, scheduler) built
and handed to the ASGI app, with what runs when it starts and stops."""

from __future__ import annotations

from collections.abc import Callable

from clarimon.api.app import App
from clarimon.api.operations import LOGS, SAGEMAKER
from clarimon.clock import for_settings
from clarimon.config import Settings
from clarimon.control import endpoints
from clarimon.control.context import Operation, Services
from clarimon.jobs.scheduler import Scheduler
from clarimon.objects import Objects, open_objects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store

# A job re-imports the main script that started the server (`clarimon` imports this module): the fork server
# imports it once, so that a job does not.
JOB_PRELOAD = ("clarimon.cli.main",)


def assemble(
    settings: Settings,
    store: Store,
    *,
    operations: dict[str, Operation] | None = None,
    clock: Callable[[], float] | None = None,
    workers: int = 16,
    objects: Objects | None = None,
) -> App:
    """The app of one server over `store`: it deploys the stored endpoints and starts scheduling when it starts,
    and stops the scheduler, the capture writer, the models and the store, in that order, when it stops."""
    objects = objects or open_objects(settings.home, settings.s3_endpoint_url)
    services = Services(store, settings, clock or for_settings(settings.clock_file), objects, Host(),
                        CaptureWriter(objects, settings.home / "capture-journal", settings.capture_flush_seconds))
    scheduler = Scheduler(services, interval=settings.scheduler_seconds, lease_seconds=settings.lease_seconds,
                          concurrency=settings.job_workers, preload=JOB_PRELOAD)

    def start() -> None:
        endpoints.recover(services)
        scheduler.start()

    def stop() -> None:
        scheduler.close()
        services.capture.close()  # after the last request: what was answered is written
        services.host.stop()
        services.store.close()

    return App(services, SAGEMAKER if operations is None else operations, log_operations=LOGS, on_startup=start,
               on_shutdown=stop, workers=workers)
