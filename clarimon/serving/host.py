"""The endpoints this process serves: per endpoint ARN, its variants and their workers; the deployment loaded
for an update that is not served yet; and which endpoints this process is converging on its stored state."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from clarimon.serving.artifacts import Lease
from clarimon.serving.workers import Worker


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
    """An endpoint's deployed variants and its DataCaptureConfig, and what it was deployed from: the stored
    endpoint's row (a new endpoint of the same name is another row) and its endpoint configuration."""

    variants: list[Variant]
    capture: dict[str, Any] | None = None  # the endpoint configuration's DataCaptureConfig
    row: int = 0
    config: str = ""
    described: list[dict[str, Any]] = field(default_factory=list)  # its ProductionVariants, as Describe shows them
    leases: list[Lease] = field(default_factory=list)  # unpacked model archives, released when it stops

    def serves(self, row: int, config: str) -> bool:
        """Whether this deployment is of the endpoint row `row` on the endpoint configuration `config`."""
        return (self.row, self.config) == (row, config)

    def weigh(self, weights: dict[str, float]) -> None:
        """Route by `weights` (variant name -> weight); variants not named keep theirs."""
        for variant in self.variants:
            variant.weight = weights.get(variant.name, variant.weight)

    def choose(self, target: str | None, rng: random.Random) -> Variant | None:
        """The variant named `target`, or one drawn by weight (None when `target` names none)."""
        if target is not None:
            return next((v for v in self.variants if v.name == target), None)
        weights = [max(v.weight, 0.0) for v in self.variants]
        if sum(weights) == 0:
            weights = [1.0] * len(self.variants)
        return rng.choices(self.variants, weights=weights)[0]

    def stop(self) -> None:
        """Stop every worker of every variant, then let go of the model archives they used."""
        for variant in self.variants:
            for worker in variant.workers:
                worker.stop()
        for held in self.leases:
            held.release()


class Host:
    """Deployments by endpoint ARN; replacing or removing one stops its workers.

    An endpoint being deployed here while it is InService in the database (after a restart, on a replica that
    has not loaded it yet, after an update made elsewhere) is `expected`: a request for it waits (bounded) for
    its workers rather than failing. A deployment of an update is `staged` until it may serve. One thread at a
    time converges an endpoint here (`begin`/`end`)."""

    def __init__(self) -> None:
        self._deployments: dict[str, Deployment] = {}
        self._staged: dict[str, Deployment] = {}
        self._expected: set[str] = set()
        self._converging: dict[str, bool] = {}  # arn -> asked to converge again meanwhile
        self._failures: dict[str, tuple[int, str, float, str]] = {}  # arn -> row, config, when, why
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.rng = random.Random()

    def begin(self, arn: str) -> bool:
        """Whether the caller may converge `arn` now (False: another thread does, and will run once more)."""
        with self._lock:
            if arn in self._converging:
                self._converging[arn] = True
                return False
            self._converging[arn] = False
            return True

    def end(self, arn: str) -> bool:
        """The caller stopped converging `arn`; True when it was asked to converge again meanwhile (it still
        holds the turn: call `end` again after that run)."""
        with self._lock:
            if self._converging.pop(arn, False):
                self._converging[arn] = False
                return True
            return False

    def converging(self, arn: str) -> bool:
        """Whether a thread converges `arn` now."""
        with self._lock:
            return arn in self._converging

    def arns(self) -> set[str]:
        """The endpoints this host serves, stages or expects."""
        with self._lock:
            return set(self._deployments) | set(self._staged) | self._expected

    def stage(self, arn: str, deployment: Deployment) -> None:
        """Keep `deployment` loaded for `arn` without serving it (an update), stopping one staged before."""
        with self._lock:
            previous = self._staged.get(arn)
            self._staged[arn] = deployment
        if previous is not None and previous is not deployment:
            previous.stop()

    def staged(self, arn: str) -> Deployment | None:
        """The deployment staged for `arn`, if any."""
        with self._lock:
            return self._staged.get(arn)

    def unstage(self, arn: str) -> Deployment | None:
        """Take the deployment staged for `arn` (the caller serves or stops it)."""
        with self._lock:
            return self._staged.pop(arn, None)

    def fail(self, arn: str, row: int, config: str, reason: str, at: float) -> None:
        """`config` of the endpoint row `row` could not be deployed here at `at` (monotonic), for `reason`."""
        with self._lock:
            self._failures[arn] = (row, config, at, reason)

    def failure(self, arn: str) -> tuple[int, str, float, str] | None:
        """The last failure to deploy `arn` here (row, config, when, why), until a deployment of it succeeds."""
        with self._lock:
            return self._failures.get(arn)

    def retire(self, arn: str) -> None:
        """Stop serving what serves `arn` now and hold its requests until `put` (or `abandon`): what it served is
        no longer what the endpoint is."""
        with self._changed:
            previous = self._deployments.pop(arn, None)
            self._expected.add(arn)
        if previous is not None:
            previous.stop()

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
            self._failures.pop(arn, None)
            self._changed.notify_all()
        if previous is not None and previous is not deployment:
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
        """Stop serving the endpoint `arn` (and what was staged for it)."""
        with self._changed:
            previous = self._deployments.pop(arn, None)
            staged = self._staged.pop(arn, None)
            self._expected.discard(arn)
            self._failures.pop(arn, None)
            self._changed.notify_all()
        for deployment in (previous, staged):
            if deployment is not None:
                deployment.stop()

    def stop(self) -> None:
        """Stop every deployment."""
        with self._lock:
            deployments = [*self._deployments.values(), *self._staged.values()]
            self._deployments.clear()
            self._staged.clear()
        for deployment in deployments:
            deployment.stop()
