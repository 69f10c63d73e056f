"""uvicorn's HTTP protocol (httptools) with the limits it lacks: a deadline for a request's headers, a cap on
their size, and a cap on open connections. Without them, idle half-sent requests pile up until the process has
no file descriptors left, and one request may hold megabytes of headers."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 64 * 1024
_END = b"\r\n\r\n"


def guarded_protocol(header_seconds: float, max_connections: int,
                     max_header_bytes: int = MAX_HEADER_BYTES) -> type[asyncio.Protocol]:
    """An httptools protocol class for uvicorn's `http` setting, with these limits."""

    class Guarded(HttpToolsProtocol):
        _timer: asyncio.TimerHandle | None = None
        _counted = 0
        _tail = b""
        _counting = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._expect_headers()

        def _expect_headers(self) -> None:
            self._counted, self._tail, self._counting = 0, b"", True
            self._cancel()
            self._timer = self.loop.call_later(header_seconds, self._too_slow)

        def _cancel(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def data_received(self, data: bytes) -> None:
            if self._counting:
                window = self._tail + data
                end = window.find(_END)
                if end == -1:
                    self._counted += len(data)
                    self._tail = window[-(len(_END) - 1):]
                else:
                    self._counted += end + len(_END) - len(self._tail)
                    self._counting = False
                if self._counted > max_header_bytes:
                    self._refuse(b"431 Request Header Fields Too Large")
                    return
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._cancel()
            self._counting = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._expect_headers()  # the next request on this connection has the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel()
            super().connection_lost(exc)

        def _too_slow(self) -> None:
            self._timer = None
            if self.cycle is None or self.cycle.response_complete:
                self._refuse(b"408 Request Timeout")

        def _refuse(self, status: bytes) -> None:
            self._cancel()
            self._counting = False
            if not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()

    return Guarded


