"""An endpoint's traffic as this server process counted it (`clarimon.telemetry`, the instruments /metrics
exports): invocations, errors, captured records and latency per production variant, since the process started."""

from __future__ import annotations

from dataclasses import dataclass, field

from clarimon.console.layout import e, table
from clarimon.telemetry import CAPTURED, INVOCATION_4XX, INVOCATION_5XX, INVOCATIONS, MODEL_LATENCY, OVERHEAD_LATENCY


@dataclass
class Latency:
    """A latency histogram of one variant: cumulative bucket counts by upper bound, count and sum (seconds)."""

    buckets: list[tuple[float, float]] = field(default_factory=list)
    count: float = 0.0
    total: float = 0.0

    def mean_ms(self) -> float | None:
        """The mean in milliseconds; None without observations."""
        return self.total / self.count * 1000 if self.count else None

    def quantile_ms(self, q: float) -> float | None:
        """The upper bound (ms) of the bucket holding quantile `q`, as Prometheus' histogram_quantile bounds it."""
        if not self.count:
            return None
        for bound, cumulative in sorted(self.buckets):
            if cumulative >= q * self.count:
                return bound * 1000
        return None


@dataclass
class Variant:
    """What one production variant served."""

    invocations: float = 0.0
    errors_4xx: float = 0.0
    errors_5xx: float = 0.0
    captured: float = 0.0
    model: Latency = field(default_factory=Latency)
    overhead: Latency = field(default_factory=Latency)


def variants(account: str, region: str, endpoint: str) -> dict[str, Variant]:
    """Each variant of the endpoint that served a request in this process, by name."""
    found: dict[str, Variant] = {}
    scope = {"account": account, "region": region, "EndpointName": endpoint}
    counters = ((INVOCATIONS, "invocations"), (INVOCATION_4XX, "errors_4xx"), (INVOCATION_5XX, "errors_5xx"),
                (CAPTURED, "captured"))
    for counter, member in counters:
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and _matches(sample.labels, scope):
                    variant = found.setdefault(sample.labels["VariantName"], Variant())
                    setattr(variant, member, sample.value)
    for histogram, member in ((MODEL_LATENCY, "model"), (OVERHEAD_LATENCY, "overhead")):
        for metric in histogram.collect():
            for sample in metric.samples:
                if not _matches(sample.labels, scope):
                    continue
                latency: Latency = getattr(found.setdefault(sample.labels["VariantName"], Variant()), member)
                if sample.name.endswith("_bucket"):
                    latency.buckets.append((float(sample.labels["le"]), sample.value))
                elif sample.name.endswith("_count"):
                    latency.count = sample.value
                elif sample.name.endswith("_sum"):
                    latency.total = sample.value
    return found


def section(account: str, region: str, endpoint: str) -> str:
    """The endpoint page's traffic table."""
    rows = []
    for name, v in sorted(variants(account, region, endpoint).items()):
        rows.append([e(name), _count(v.invocations), _count(v.errors_4xx), _count(v.errors_5xx), _count(v.captured),
                     _ms(v.model.mean_ms()), _ms(v.model.quantile_ms(0.99)), _ms(v.overhead.mean_ms())])
    note = ('<p class="hint">Counted by this server process since it started (each replica counts its own); '
            "Prometheus keeps the history from <code>/metrics</code>. p99 is the upper bound of its latency "
            "bucket.</p>")
    return table(["variant", "invocations", "4xx errors", "5xx errors", "captured", "model latency mean (ms)",
                  "model latency p99 (ms)", "overhead mean (ms)"], rows,
                 empty="No invocations since this server started.", css="traffic") + note


def _matches(labels: dict[str, str], scope: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in scope.items())


def _count(value: float) -> str:
    return f'<span class="num">{int(value)}</span>'


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return "&gt; 60000" if value == float("inf") else f"{value:.3g}"
