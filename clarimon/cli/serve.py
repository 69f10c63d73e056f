"""Running the ASGI app under uvicorn until SIGTERM or SIGINT."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator

import uvicorn

from clarimon.api.connections import guarded_protocol
from clarimon.config import Settings
from clarimon.server import assemble
from clarimon.serving.lifeline import PROCESSES
from clarimon.store import Store

log = logging.getLogger("clarimon")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the stop signal after its graceful shutdown, so the process would end "killed by
        # SIGTERM"; a stop that was asked for and finished cleanly exits 0 instead.
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(settings: Settings, store: Store) -> None:
    """Serve until stopped; the store is closed by the app's shutdown."""
    store.secret()
    PROCESSES.configure(settings.home / "processes")
    if ended := PROCESSES.end_leftovers():  # a crashed predecessor's workers and jobs that outlived it
        log.warning("processes of a previous server ended count=%d", ended)
    config = uvicorn.Config(
        assemble(settings, store), host=settings.host, port=settings.port, log_level=settings.log_level,
        access_log=False, lifespan="on", log_config=None,
        http=guarded_protocol(settings.header_seconds, settings.max_connections),
        limit_concurrency=settings.max_connections,
    )
    if settings.credentials:
        log.info("authentication: Signature Version 4 verified on every route, access keys=%d accounts=%d",
                 len(settings.credentials), len({c.account for c in settings.credentials.values()}))
    else:
        log.warning("!!! authentication: NONE (anonymous mode): signatures are not verified, any caller reaching "
                    "host=%s is any account; give --credentials to verify them !!!", settings.host)
    log.info("regions served: %s", ",".join(settings.regions))
    memory = f"{settings.worker_memory_mb} MB beyond the runtime" if settings.worker_memory_mb else "unlimited"
    if settings.worker_user:
        log.info("model workers: environment scrubbed, memory %s, user %s", memory, settings.worker_user)
    elif os.geteuid() == 0:
        log.warning("!!! model workers run as root (environment scrubbed, memory %s): a model's code can read the "
                    "database and every account's objects; give --worker-user to run them unprivileged !!!", memory)
    else:
        log.info("model workers: environment scrubbed, memory %s, the server's user (give --worker-user, as root, "
                 "to keep them from the server's files)", memory)
    log.info(
        "serving host=%s port=%d home=%s database=%s", settings.host, settings.port, settings.home,
        store.engine.url.render_as_string(hide_password=True),
    )
    _Server(config).run()
