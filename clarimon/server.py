"""The composition root: one server's services (store, objects, model host, capture writer, scheduler,
notifications sender) built and handed to the ASGI app, with what runs when it starts and stops."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

from clarimon.api.app import App
from clarimon.api.operations import LOGS, SAGEMAKER
from clarimon.clock import for_settings
from clarimon.config import Settings
from clarimon.control import results_backfill
from clarimon.control.context import Operation, Services
from clarimon.control.deployments import Reconciler
from clarimon.jobs.notifications import Sender
from clarimon.jobs.scheduler import Scheduler
from clarimon.objects import Objects, open_objects
from clarimon.serving import artifacts
from clarimon.serving.boxes import BOXES, Box, clear_homes, lock_down
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.serving.zygotes import Zygotes
from clarimon.store import Store

log = logging.getLogger("clarimon")


def assemble(
    settings: Settings,
    store: Store,
    *,
    operations: dict[str, Operation] | None = None,
    clock: Callable[[], float] | None = None,
    workers: int = 16,
    objects: Objects | None = None,
) -> App:
    """The app of one server over `store`: it starts serving the stored endpoints (and following their changes)
    and scheduling when it starts, and stops the scheduler, the reconciler, the capture writer, the models and
    the store, in that order, when it stops."""
    objects = objects or open_objects(settings.home, settings.s3_endpoint_url)
    host = Host(Zygotes(Box(settings.worker_memory_mb, settings.worker_user), settings.home / BOXES))
    services = Services(store, settings, clock or for_settings(settings.clock_file), objects, host,
                        CaptureWriter(objects, settings.home / "capture-journal", settings.capture_flush_seconds))
    scheduler = Scheduler(services, interval=settings.scheduler_seconds, lease_seconds=settings.lease_seconds,
                          concurrency=settings.job_workers)
    # With receivers, every status change writes an event in its own transaction, and this server sends them.
    store.notifying = bool(settings.notify_urls)
    sender = Sender(store, settings.notify_urls, settings.notify_secret) if settings.notify_urls else None
    reconciler = Reconciler(services, settings.reconcile_seconds)

    def start() -> None:
        lock_down(settings.home, settings.database_url)  # before any model's code runs
        clear_homes(settings.home / BOXES)
        if sender is not None:
            sender.start()
        artifacts.sweep(settings.home / "models")  # what no server holds now: before this one leases again
        reconciler.start()
        scheduler.start()
        if not results_backfill.done(services):
            threading.Thread(target=_backfill, args=(services,), daemon=True, name="clarimon-backfill").start()
        # What start-up loaded (botocore's models, the app, the libraries) lives as long as the process: frozen
        # out of the garbage collector's full passes, which otherwise walk all of it during any request that makes
        # many objects (a console page charting 1,000 executions: p99 169 -> 82 ms in one process).
        gc.collect()
        gc.freeze()

    def stop() -> None:
        scheduler.close()
        reconciler.close()
        if sender is not None:
            sender.close()
        services.capture.close()  # after the last request: what was answered is written
        services.host.stop()
        services.store.close()

    return App(services, SAGEMAKER if operations is None else operations, log_operations=LOGS, on_startup=start,
               on_shutdown=stop, workers=workers)


def _backfill(services: Services) -> None:
    """The one-time recording of results of executions that ended before clarimon recorded them; a failure is
    logged and tried again at the next start."""
    try:
        results_backfill.backfill(services)
    except Exception:
        log.exception("execution results backfill failed; it runs again at the next start")
