"""A notification receiver for tests: a small HTTP server on a free loopback port that records what it is sent,
answers 503 while told to refuse, and can hold each answer back for a while."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """One POST: its headers and body."""

    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


@dataclass
class Receiver:
    """What the receiver got (accepted ones), how many it refused, and whether it refuses now."""

    url: str = ""
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    refusing: bool = False
    arrived: int = 0  # POSTs whose body was read, answered or not yet
    delay: float = 0.0  # seconds to wait after reading a body, before recording and answering it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [received.event for received in self.accepted]

    def ids(self) -> list[str]:
        return [event["id"] for event in self.events()]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver; stopped afterwards."""
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.arrived += 1
                delay = state.delay
            time.sleep(delay)
            with state.lock:
                if state.refusing:
                    state.refused += 1
                    status = 503
                else:
                    state.accepted.append(Received(dict(self.headers.items()), body))
                    status = 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the sender is gone (killed while waiting)
                pass

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
