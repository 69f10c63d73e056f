"""One model, one connection, one request never stops the rest: timeouts, replaced workers, bounded answers and
connection limits, through a real server."""

from __future__ import annotations

import contextlib
import socket
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from sklearn.linear_model import LogisticRegression

from clarimon.serving.lifeline import started_at
from tests.e2e.test_endpoints import X, csv, deploy_sklearn, runtime, wait_for
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e

# A model that misbehaves on request: a first value of -1 hangs, -2 kills its worker, -3 answers 8 MB, -4 hangs
# in native code holding the interpreter lock (no thread of the worker runs any more).
MISBEHAVING = textwrap.dedent('''
    import ctypes
    import os
    import time

    import joblib
    import numpy as np


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))


    def predict_fn(data, model):
        if data[0][0] == -1:
            time.sleep(3600)
        if data[0][0] == -2:
            os._exit(3)
        if data[0][0] == -3:
            return np.zeros(2_000_000)  # 8 MB as JSON
        if data[0][0] == -4:
            ctypes.PyDLL(None).sleep(3600)
        return model.predict_proba(data)
''')
TIMEOUT = 2.0


@pytest.fixture(scope="module")
def fitted() -> LogisticRegression:
    return LogisticRegression(max_iter=5000).fit(X, (X[:, 0] > np.median(X[:, 0])).astype(int))


def row(first: float) -> bytes:
    values = X[:1].copy()
    values[0, 0] = first
    return csv(values)


def invoke(server: Server, region: str, name: str, body: bytes) -> tuple[int, str]:
    """The status and error code (empty when 200) of one InvokeEndpoint."""
    try:
        runtime(server, region).invoke_endpoint(EndpointName=name, Body=body, ContentType="text/csv")
        return 200, ""
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"]), str(error.response["Error"]["Code"])


@pytest.fixture
def served(make_server: Any, region: str, tmp_path: Path, fitted: LogisticRegression) -> Server:
    server: Server = make_server("--invoke-timeout-seconds", str(TIMEOUT), "--invocations-per-endpoint", "2",
                                 "--header-seconds", "1", "--body-seconds", "1")
    client = server.client(region)
    for name in ("bad", "good"):
        (tmp_path / name).mkdir()
        deploy_sklearn(server, client, tmp_path / name, fitted, name, MISBEHAVING)
    for name in ("bad", "good"):
        assert wait_for(client, name)["EndpointStatus"] == "InService"
    return server


def test_a_hanging_model_slows_neither_other_endpoints_nor_the_api(served: Server, region: str) -> None:
    hung: list[tuple[int, str]] = []
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: hung.append(invoke(served, region, "bad", row(-1))))
               for _ in range(24)]  # more than the API's 16 operation threads
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    client = served.client(region)
    for _ in range(5):
        began = time.monotonic()
        client.list_models()
        assert invoke(served, region, "good", row(1.0)) == (200, "")
        assert time.monotonic() - began < 1.5, "the API or another endpoint waited for the hanging model"
    for thread in threads:
        thread.join(timeout=60)
    # Each hung request ends as SageMaker ends it (ModelError after the timeout), or finds the endpoint busy.
    assert len(hung) == 24 and set(hung) <= {(424, "ModelError"), (503, "ServiceUnavailable")}, hung
    assert (424, "ModelError") in hung
    assert time.monotonic() - started < 24 * TIMEOUT  # the worker is killed, not waited for
    # The killed worker is replaced: the endpoint answers again.
    eventually(lambda: invoke(served, region, "bad", row(1.0)) == (200, ""), 60,
               lambda: f"bad still answers {invoke(served, region, 'bad', row(1.0))}")


def test_a_dead_worker_is_replaced_and_an_oversized_answer_refused(served: Server, region: str) -> None:
    assert invoke(served, region, "bad", row(-2)) == (503, "ServiceUnavailable")
    eventually(lambda: invoke(served, region, "bad", row(1.0)) == (200, ""), 60,
               lambda: f"bad still answers {invoke(served, region, 'bad', row(1.0))} after its worker died")
    assert invoke(served, region, "bad", row(-3)) == (424, "ModelError")
    assert invoke(served, region, "bad", row(1.0)) == (200, "")


def _exchange(server: Server, data: bytes, wait: float) -> bytes:
    """What the server sends back on a raw connection after `data` and `wait` seconds (b"" if it just closed)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        time.sleep(wait)
        sock.settimeout(5)
        try:
            return sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return b"(no answer)"


def test_slow_or_oversized_requests_are_cut_off(served: Server, region: str) -> None:
    assert _exchange(served, b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar", 2.0).startswith(b"HTTP/1.1 408")
    huge = b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n"
    assert _exchange(served, huge, 0.5).startswith(b"HTTP/1.1 431")
    slow_body = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\n"
                 b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{")
    answer = _exchange(served, slow_body, 2.0)
    assert answer.startswith(b"HTTP/1.1 408") and b"RequestTimeout" in answer, answer
    # Meanwhile, and after, everyone else is served.
    assert served.client(region).list_models()["Models"]


def test_workers_end_with_their_server_or_with_the_next_one(make_server: Any, region: str, tmp_path: Path,
                                                             fitted: LogisticRegression) -> None:
    """A worker busy in a request ends when its server is killed; one stuck where it cannot notice is ended by
    the next server started on the same home."""
    server: Server = make_server()
    client = server.client(region)
    for name in ("sleepy", "stuck"):
        (tmp_path / name).mkdir()
        deploy_sklearn(server, client, tmp_path / name, fitted, name, MISBEHAVING)
    for name in ("sleepy", "stuck"):
        assert wait_for(client, name)["EndpointStatus"] == "InService"
    pids = [int(p.name) for p in (server.home / "processes").iterdir()]
    assert len(pids) == 3 and all(started_at(pid) for pid in pids)  # the runtime's warm parent, two workers
    def call(name: str, first: float) -> None:
        with contextlib.suppress(BotoCoreError):  # the server is killed before it answers
            invoke(server, region, name, row(first))

    callers = [threading.Thread(target=call, args=(name, first), daemon=True)
               for name, first in (("sleepy", -1), ("stuck", -4))]
    for caller in callers:
        caller.start()
    time.sleep(1.5)  # both workers are in their request
    server.kill()
    eventually(lambda: sum(started_at(pid) is not None for pid in pids) == 1, 10,
               lambda: f"running after the kill: {[pid for pid in pids if started_at(pid)]} of {pids}")
    server.start()
    eventually(lambda: all(started_at(pid) is None for pid in pids), 10,
               lambda: f"still running after the restart: {[pid for pid in pids if started_at(pid)]}")
    assert "ended a process a previous server left running" in server.log()
