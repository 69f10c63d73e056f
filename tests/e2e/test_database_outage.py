"""PostgreSQL going away behind a proxy the test cuts and restores: operations answer a retryable
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
    serves again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
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

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Server, Proxy]]:
    with ExitStack() as stack:
        url = database_url(stack, "postgresql", tmp_path)  # skips without PostgreSQL
        parsed = urllib.parse.urlsplit(url)
        proxy = Proxy(parsed.port or 5432)
        proxy.restore()
        through = parsed._replace(netloc=f"{parsed.username}@127.0.0.1:{proxy.port}").geturl()
        server = Server(tmp_path / "server", through)
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
