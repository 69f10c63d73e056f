"""PostgreSQL going away behind a proxy the test cuts (or freezes) and restores: operations answer a retryable
ServiceUnavailable (503) quickly, InvokeEndpoint keeps serving the loaded model, and all recovers without a
restart."""

from __future__ import annotations

import gc
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LogisticRegression

from tests.conftest import database_url
from tests.e2e.test_endpoints import X, Y, csv, deploy_sklearn, runtime, wait_for
from tests.servers import Server, eventually, free_port

pytestmark = pytest.mark.e2e


class Proxy:
    """A TCP proxy on a loopback port to PostgreSQL; `cut()` refuses and drops every connection, `restore()`
    serves again on the same port; `freeze()` keeps every connection open and accepts new ones, but forwards
    nothing any more (the peer's kernel acknowledges, nobody answers), until `cut()`."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._frozen = threading.Event()

    def freeze(self) -> None:
        self._frozen.set()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self._frozen.clear()
        if self._listener is None:
            return
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread in accept(), which close() alone does not
        except OSError:
            pass
        self._listener.close()
        self._listener = None
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._frozen.is_set():  # accepted, never answered
                with self._lock:
                    self._sockets.append(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._frozen.is_set():  # frozen: read (so the sender's kernel keeps acknowledging), dropped
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


FROZEN_DEADLINE_SECONDS = 2.0  # --database-timeout-seconds of the frozen-connection test


@pytest.fixture
def proxied(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Server, Proxy]]:
    """A server whose database is behind a Proxy; `request.param`: its extra options."""
    with ExitStack() as stack:
        url = database_url(stack, "postgresql", tmp_path)  # skips without PostgreSQL
        parsed = urllib.parse.urlsplit(url)
        proxy = Proxy(parsed.port or 5432)
        proxy.restore()
        through = parsed._replace(netloc=f"{parsed.username}@127.0.0.1:{proxy.port}").geturl()
        server = Server(tmp_path / "server", through, list(getattr(request, "param", [])))
        try:
            yield server.start(), proxy
        finally:
            server.kill()
            proxy.cut()


# botocore leaves the connection of a 503 answer to the garbage collector (a ResourceWarning, not ours).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_unreachable_database_is_service_unavailable_and_models_keep_serving(
        proxied: tuple[Server, Proxy], tmp_path: Path) -> None:
    server, proxy = proxied
    client = server.client("us-east-1")
    deploy_sklearn(server, client, tmp_path, LogisticRegression(max_iter=5000).fit(X, Y), "served")
    assert wait_for(client, "served")["EndpointStatus"] == "InService"
    runtime_client = runtime(server, "us-east-1")
    invoke = runtime_client.invoke_endpoint

    proxy.cut()
    for _ in range(3):
        began = time.monotonic()
        with pytest.raises(ClientError) as caught:
            client.list_models()
        error = caught.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceUnavailable", 503)
        assert time.monotonic() - began < 15
        answer = invoke(EndpointName="served", Body=csv(X[:2]), ContentType="text/csv")
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "internal failure" not in server.log()

    proxy.restore()
    eventually(lambda: _answers(client), 30, lambda: "ListModels still fails after the database came back")
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["served"]
    client.close()
    runtime_client.close()
    del caught
    gc.collect()  # here, where the warning filter applies


def _answers(client: object) -> bool:
    try:
        client.list_models()  # type: ignore[attr-defined]
        return True
    except ClientError:
        return False


@pytest.mark.parametrize("proxied", [["--database-timeout-seconds", str(FROZEN_DEADLINE_SECONDS)]], indirect=True)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_frozen_database_connection_is_service_unavailable_within_its_deadline(
        proxied: tuple[Server, Proxy], tmp_path: Path) -> None:
    server, proxy = proxied
    client = server.client("us-east-1")
    deploy_sklearn(server, client, tmp_path, LogisticRegression(max_iter=5000).fit(X, Y), "served")
    assert wait_for(client, "served")["EndpointStatus"] == "InService"
    runtime_client = runtime(server, "us-east-1")
    clients = [server.client("us-east-1") for _ in range(4)]
    for each in clients:  # several pooled connections, each of them frozen in the middle of its next use
        each.list_models()

    proxy.freeze()
    # A frozen pooled connection meets the client's deadline (timeout + 5 s), a new one the connect timeout (5 s).
    bound = FROZEN_DEADLINE_SECONDS + 5 + 5 + 5
    answers: list[tuple[str, int, float]] = []

    def ask(each: object) -> None:
        began = time.monotonic()
        try:
            each.list_models()  # type: ignore[attr-defined]
            answers.append(("200", 200, time.monotonic() - began))
        except ClientError as error:
            answers.append((error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"],
                            time.monotonic() - began))

    threads = [threading.Thread(target=ask, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    answer = runtime_client.invoke_endpoint(EndpointName="served", Body=csv(X[:2]), ContentType="text/csv")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200  # served from memory meanwhile
    for thread in threads:
        thread.join(timeout=60)
    assert [(code, status) for code, status, _ in answers] == [("ServiceUnavailable", 503)] * 4, answers
    assert max(seconds for _, _, seconds in answers) < bound, answers
    assert "internal failure" not in server.log()

    proxy.cut()
    proxy.restore()
    eventually(lambda: _answers(client), 30, lambda: "ListModels still fails after the database came back")
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["served"]
    for each in (client, runtime_client, *clients):
        each.close()
    gc.collect()
