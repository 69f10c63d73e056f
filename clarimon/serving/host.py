"""The endpoints this process serves: per endpoint ARN, its variants and their workers."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from clarimon.serving.workers import Worker
from clarimon.serving.zygotes import Zygotes


@dataclass
class Variant:
    """A production variant: its name, weight and worker processes."""

    name: str
    weight: float
    workers: list[Worker]
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self) -> Worker:
        """The next worker, round robin, passing over busy ones while another is free and dead ones (which are
        being replaced) while another lives."""
        with self._lock:
            order = [self.workers[(self._turn + 1 + i) % len(self.workers)] for i in range(len(self.workers))]
            self._turn += 1
        for worker in order:
            if not worker.alive:
                worker.replace()
        chosen = next((w for w in order if w.alive and not w.busy), None) or next((w for w in order if w.alive),
                                                                                    order[0])
        return chosen


@dataclass
class Deployment:
    """An endpoint's deployed variants and its DataCaptureConfig."""

    variants: list[Variant]
    capture: dict[str, Any] | None = None  # the endpoint configuration's DataCaptureConfig

    def choose(self, target: str | None, rng: random.Random) -> Variant | None:
        """The variant named `target`, or one drawn by weight (None when `target` names none)."""
        if target is not None:
            return next((v for v in self.variants if v.name == target), None)
        weights = [max(v.weight, 0.0) for v in self.variants]
        if sum(weights) == 0:
            weights = [1.0] * len(self.variants)
        return rng.choices(self.variants, weights=weights)[0]

    def stop(self) -> None:
        """Stop every worker of every variant."""
        for variant in self.variants:
            for worker in variant.workers:
                worker.stop()


class Host:
    """Deployments by endpoint ARN; replacing or removing one stops its workers. Its workers are forked from
    `zygotes`, which it ends when it stops.

    An endpoint being deployed again after a restart is `expected`: it is InService in the database while its
    workers load, and a request for it waits (bounded) for them rather than failing."""

    def __init__(self, zygotes: Zygotes | None = None) -> None:
        self.zygotes = zygotes or Zygotes()  # where this host's workers are forked from, in what box
        self._deployments: dict[str, Deployment] = {}
        self._expected: set[str] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.rng = random.Random()

    def expect(self, arn: str) -> None:
        """The endpoint `arn` is being deployed: `wait` holds its requests until `put` or `abandon`."""
        with self._lock:
            self._expected.add(arn)

    def abandon(self, arn: str) -> None:
        """The endpoint `arn` is no longer being deployed (its deployment failed or ended): nobody waits for it."""
        with self._changed:
            self._expected.discard(arn)
            self._changed.notify_all()

    def put(self, arn: str, deployment: Deployment) -> None:
        """Serve `deployment` for the endpoint `arn`, stopping what served it before."""
        with self._changed:
            previous = self._deployments.get(arn)
            self._deployments[arn] = deployment
            self._expected.discard(arn)
            self._changed.notify_all()
        if previous is not None:
            previous.stop()

    def get(self, arn: str) -> Deployment | None:
        """What serves the endpoint `arn`, if anything."""
        with self._lock:
            return self._deployments.get(arn)

    def wait(self, arn: str, timeout: float) -> Deployment | None:
        """What serves the endpoint `arn`, waiting up to `timeout` seconds while it is expected."""
        with self._changed:
            self._changed.wait_for(lambda: arn in self._deployments or arn not in self._expected, timeout)
            return self._deployments.get(arn)

    def remove(self, arn: str) -> None:
        """Stop serving the endpoint `arn`."""
        with self._changed:
            previous = self._deployments.pop(arn, None)
            self._expected.discard(arn)
            self._changed.notify_all()
        if previous is not None:
            previous.stop()

    def stop(self) -> None:
        """Stop every deployment."""
        with self._lock:
            deployments = list(self._deployments.values())
            self._deployments.clear()
        for deployment in deployments:
            deployment.stop()
        self.zygotes.stop()
