"""What an operation runs with: the caller's account and region, the store, the settings, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clarimon.config import Settings
from clarimon.objects import Objects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store


@dataclass(frozen=True)
class Services:
    """What every operation of one server process shares."""

    store: Store
    settings: Settings
    clock: Callable[[], float]
    objects: Objects
    host: Host
    capture: CaptureWriter

    def now(self) -> float:
        """The current time in epoch seconds, to the millisecond as SageMaker reports it."""
        return round(self.clock(), 3)


@dataclass(frozen=True)
class Context:
    """One request's context: the caller's account and region, and the server's services."""

    account: str
    region: str
    services: Services

    @property
    def store(self) -> Store:
        """The server's store."""
        return self.services.store

    @property
    def settings(self) -> Settings:
        """The server's settings."""
        return self.services.settings

    def now(self) -> float:
        """The current time in epoch seconds, to the millisecond."""
        return self.services.now()


Request = dict[str, Any]
Response = dict[str, Any]
Operation = Callable[[Context, Request], Response]
