"""Warm parents: children forked with the box's environment and limits, watched through their sentinels."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from clarimon.serving import boxes
from clarimon.serving.boxes import Box
from clarimon.serving.zygotes import Zygotes

ROOT = str(Path(__file__).resolve().parents[2])
TARGET = "tests.serving.test_zygotes:report"


def report(connection: Connection) -> None:
    """A child's target: answer each message with what this process has (its environment, limit, modules)."""
    while True:
        try:
            connection.recv()
        except EOFError:
            return
        connection.send({"environ": dict(os.environ), "limit": resource.getrlimit(resource.RLIMIT_AS)[0],
                         "limit_mb": boxes.limit_mb, "modules": sorted(__import__("sys").modules), "pid": os.getpid()})


@pytest.fixture
def zygotes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Zygotes]:
    monkeypatch.setenv("PYTHONPATH", ROOT)  # the children import this module
    monkeypatch.setenv("CLARIMON_DATABASE_URL", "postgresql://clarimon:hunter2@db/clarimon")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
    started = Zygotes(Box(memory_mb=256))
    yield started
    started.stop()


def ask(connection: Connection) -> dict[str, object]:
    connection.send("?")
    answer: dict[str, object] = connection.recv()
    return answer


def test_children_get_the_box_and_only_what_their_parent_imported(zygotes: Zygotes) -> None:
    child = zygotes.fork(["json"], TARGET)
    try:
        seen = ask(child.connection)
        environ = seen["environ"]
        assert isinstance(environ, dict)
        assert "CLARIMON_DATABASE_URL" not in environ and "AWS_SECRET_ACCESS_KEY" not in environ
        assert environ["PYTHONPATH"] == ROOT
        assert seen["limit_mb"] == 256 and seen["limit"] != resource.RLIM_INFINITY
        modules = seen["modules"]
        assert isinstance(modules, list)
        assert "sklearn" not in modules and "clarimon.server" not in modules and "sqlalchemy" not in modules
        assert seen["pid"] == child.pid and child.is_alive()
    finally:
        child.kill()
        assert child.join(10) and not child.is_alive()
        child.close()


def test_a_job_keeps_what_reaching_the_object_store_needs(zygotes: Zygotes) -> None:
    from clarimon.jobs.runner import OBJECT_STORE_ENVIRONMENT  # not at the top: the children import this module

    child = zygotes.fork(["json"], TARGET, keep=OBJECT_STORE_ENVIRONMENT)
    try:
        environ = ask(child.connection)["environ"]
        assert isinstance(environ, dict)
        assert environ["AWS_SECRET_ACCESS_KEY"] == "server-secret" and environ["HOME"] == os.environ["HOME"]
        assert "CLARIMON_DATABASE_URL" not in environ
    finally:
        child.kill()
        child.join(10)
        child.close()


def test_a_zygote_that_died_is_started_again(zygotes: Zygotes) -> None:
    first = zygotes.fork(["json"], TARGET)
    zygote = next(iter(zygotes._zygotes.values()))
    assert zygote.pid is not None
    os.kill(zygote.pid, signal.SIGKILL)
    second = zygotes.fork(["json"], TARGET)
    try:
        assert ask(first.connection)["pid"] == first.pid  # a child outlives its parent: its worker ends it
        assert ask(second.connection)["pid"] == second.pid != first.pid
    finally:
        for child in (first, second):
            child.kill()
            child.join(10)
            child.close()
