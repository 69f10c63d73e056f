"""`GET /metrics`: Prometheus' text format, from this process's instruments (`clarimon.telemetry`: endpoints and
API) and from the database (`clarimon.control.monitoring_metrics`: the same on every replica).

Who may scrape: a Prometheus scraper cannot sign with SigV4, and the page covers every account, so no account's
key fits it. With `--metrics-token` set, a scrape must carry `Authorization: Bearer <token>`; without it, the
page is open only when the server itself runs anonymously (no `--credentials`: loopback or
`--allow-anonymous`), and refused otherwise, saying to set the token.
"""

from __future__ import annotations

import hmac

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from clarimon.control.context import Services
from clarimon.control.monitoring_metrics import MonitoringCollector
from clarimon.telemetry import REGISTRY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Dropped(Collector):
    """The capture records this process dropped (built or written, they failed: logged)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> list[Metric]:
        family = CounterMetricFamily("clarimon_capture_dropped_records", "Capture records this server dropped "
                                     "(they could not be journalled or written; each is logged).")
        family.add_metric([], self.services.capture.dropped)
        return [family]


class Metrics:
    """The /metrics page of one server's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(MonitoringCollector(services))
        self.registry.register(_Dropped(services))

    def refused(self, authorization: str | None) -> tuple[int, str] | None:
        """The HTTP status and plain-text reason that refuse a scrape with this Authorization header, or None
        when it may read."""
        token = self.services.settings.metrics_token
        if token:
            scheme, _, given = (authorization or "").partition(" ")
            if scheme == "Bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
                return None
            return 401, "/metrics needs 'Authorization: Bearer <token>' with the server's --metrics-token.\n"
        if self.services.settings.credentials:
            return 403, ("/metrics is closed: this server verifies signatures, which a scraper cannot make; start it "
                         "with --metrics-token and scrape with that bearer token.\n")
        return None

    def page(self) -> bytes:
        """The exposition: this process's instruments, then what the database holds."""
        return generate_latest(REGISTRY) + generate_latest(self.registry)
