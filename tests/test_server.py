"""The composition root: a server's app starts its background work and stops it, and the store, in order."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson

from clarimon.config import Settings
from clarimon.control import monitoring_results, results_backfill
from clarimon.control.context import Context
from clarimon.server import JOB_PRELOAD, assemble
from clarimon.store import Store
from tests.control.test_monitoring_results import NORMAL
from tests.control.test_results_backfill import ended_before
from tests.servers import eventually


def test_the_app_starts_and_stops_the_server(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    store.upgrade()
    app = assemble(Settings(home=tmp_path, database_url=store.url), store)
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.executor._shutdown  # no request runs after the stop
    assert JOB_PRELOAD == ("clarimon.cli.main",)


def test_a_starting_server_records_the_results_of_executions_that_ended_before(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    store.upgrade()
    app = assemble(Settings(home=tmp_path, database_url=store.url), store)
    ctx = Context("000000000000", "us-east-1", app.services)
    ended = ended_before(ctx, 0, "Completed", {"analysis.json": orjson.dumps(NORMAL)})
    assert not results_backfill.done(app.services)
    started = asyncio.Event()

    async def receive() -> MutableMapping[str, Any]:
        if not started.is_set():
            started.set()
            return {"type": "lifespan.startup"}
        await asyncio.to_thread(eventually, lambda: results_backfill.done(app.services) or None, 30,
                                lambda: "the backfill did not finish")
        return {"type": "lifespan.shutdown"}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    asyncio.run(app({"type": "lifespan"}, receive, send))
    store = Store(store.url)
    services = dataclasses.replace(app.services, store=store)
    found = monitoring_results.detail(services, "000000000000", "us-east-1", ended)
    assert found is not None and [a.feature for a in found.labels[0].attributions] == ["sat", "gpa", "rank"]
    assert found.labels[0].ndcg is None  # its baseline is gone: the attributions stay, without it
    store.close()
