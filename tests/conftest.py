"""Fixtures: real servers on each database backend (SQLite always; PostgreSQL when it answers), and the
services and operation context of one server over such a database, for the control and jobs unit tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from clarimon.config import Settings
from clarimon.control.context import Context, Services
from clarimon.objects import LocalObjects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store
from tests.servers import Server, postgres_answers, postgres_database

BACKENDS = ["sqlite", "postgresql"]
_POSTGRES_PROBLEM = postgres_answers()


def pytest_report_header() -> list[str]:
    if _POSTGRES_PROBLEM is None:
        return ["clarimon: PostgreSQL answers on 127.0.0.1:5432; the PostgreSQL leg runs"]
    return [f"clarimon: !!! PostgreSQL does not answer on 127.0.0.1:5432 ({_POSTGRES_PROBLEM}); "
            "the PostgreSQL leg is SKIPPED !!!"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _POSTGRES_PROBLEM is not None:
        terminalreporter.write_sep("!", "PostgreSQL leg SKIPPED: nothing answers on 127.0.0.1:5432", red=True)


def database_url(stack: ExitStack, backend: str, home: Path) -> str:
    if backend == "postgresql":
        if _POSTGRES_PROBLEM is not None:
            pytest.skip(f"PostgreSQL leg skipped: nothing answers on 127.0.0.1:5432 ({_POSTGRES_PROBLEM})")
        return stack.enter_context(postgres_database())
    return f"sqlite:///{home / 'clarimon.db'}"


ServerFactory = Callable[..., Server]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_server(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers of their own (for restarts, kills, special options) on this test's backend."""
    with ExitStack() as stack:
        servers: list[Server] = []

        def make(*extra_args: str, share: Server | None = None) -> Server:
            """`share`: a server whose database and object folder this one uses too (a second replica)."""
            home = tmp_path / f"server{len(servers)}"
            if share is None:
                url = database_url(stack, backend, home)
            else:
                url = share.database_url
                home.mkdir(parents=True)
                (home / "s3").symlink_to(share.home / "s3", target_is_directory=True)
            server = Server(home, url, list(extra_args))
            servers.append(server)
            return server.start()

        yield make
        for server in servers:
            server.kill()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per module and backend; tests keep apart by using a region of their own."""
    with ExitStack() as stack:
        home = tmp_path_factory.mktemp("shared")
        server = Server(home, database_url(stack, str(request.param), home))
        server.start()
        yield server
        server.kill()


@pytest.fixture
def region() -> str:
    """A region no other test uses, so that a shared server's lists hold only this test's resources."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def services(backend: str, tmp_path: Path) -> Iterator[Services]:
    """One server's services, without its scheduler: the tests drive what it would do."""
    with ExitStack() as stack:
        url = database_url(stack, backend, tmp_path)
        store = Store(url)
        store.upgrade()
        objects = LocalObjects(tmp_path / "s3")
        capture = CaptureWriter(objects, tmp_path / "capture-journal")
        host = Host()
        yield Services(store, Settings(home=tmp_path, database_url=url), time.time, objects, host, capture)
        capture.close()
        host.stop()
        store.close()


@pytest.fixture
def ctx(services: Services) -> Context:
    """The default account's context in us-east-1."""
    return Context("000000000000", "us-east-1", services)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.e2e import test_fuzz as fuzz
    from tests.e2e import test_validation_generated as generated

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if fuzz.CODES and reporter is not None:
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(fuzz.CODES.items()))
        reporter.write_line(f"clarimon: fuzzing sent {sum(fuzz.CODES.values())} requests; answers by status: {codes}")

    if generated.REPORT:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"clarimon: generated validation covered {generated.REPORT['constraints']} constraints "
                f"({generated.REPORT['complete']} of them in operations covered completely) with "
                f"{generated.REPORT['requests']} violating requests (per backend)"
            )
