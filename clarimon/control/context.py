"""What an operation runs with: the caller's account and region, the store, the settings, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clarimon.config import Settings
from clarimon.store import Store


@dataclass(frozen=True)
class Context:
    account: str
    region: str
    store: Store
    settings: Settings
    clock: Callable[[], float]

    def now(self) -> float:
        """The current time in epoch seconds, to the millisecond as SageMaker reports it."""
        return round(self.clock(), 3)


Request = dict[str, Any]
Response = dict[str, Any]
Operation = Callable[[Context, Request], Response]
