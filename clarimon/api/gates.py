"""At most a few requests per endpoint in its models at once; the others wait in the event loop, holding no
thread, so that a model that hangs takes a bounded share of the threads and none of the API's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Crowded(Exception):
    """The gate stayed full for the whole wait."""


class Gates:
    """One gate per key (an endpoint), made when first used and dropped when nobody holds or waits at it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def enter(self, key: str, wait: float) -> AsyncIterator[None]:
        """Pass the gate of `key` within `wait` seconds (Crowded if not), and leave it after the block."""
        gate, users = self._gates.setdefault(key, (asyncio.Semaphore(self.limit), [0]))
        users[0] += 1
        try:
            try:
                async with asyncio.timeout(wait):
                    await gate.acquire()
            except TimeoutError:
                raise Crowded(key) from None
            try:
                yield
            finally:
                gate.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._gates[key]

    def __len__(self) -> int:
        return len(self._gates)
