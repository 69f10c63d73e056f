"""The monitoring metrics of `/metrics`, read from the database at each scrape (so every replica reports the
same): per schedule, its latest execution's global attributions as SageMaker publishes them to CloudWatch
(`feature_<name>` and `ExpectedValue`, with the dimensions Endpoint, MonitoringSchedule, ExplainabilityMethod,
Label and ValueType as labels), the NDCG against the baseline and its threshold, the time, duration, status and
violations of that execution, the executions by status, and the status of each alert.

`publish_cloudwatch_metrics=Disabled` in a job definition's Environment turns off what that execution would have
published (the attributions and everything else read from its result); the counts of executions and the alert
status stay, as they are the schedule's, not the execution's. Prometheus metric names allow `[a-zA-Z0-9_:]`
only: a feature's other characters become `_` in the name, and the `FeatureName` label keeps it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import regex
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from clarimon.control import alerts, monitoring_results, schedules
from clarimon.control.context import Services
from clarimon.store import executions, resources
from clarimon.store.results import Result

_SCOPE = ["account", "region"]
_DIMENSIONS = [*_SCOPE, "Endpoint", "MonitoringSchedule", "ExplainabilityMethod", "Label", "ValueType"]
_SCHEDULE = [*_SCOPE, "Endpoint", "MonitoringSchedule"]
_NOT_IN_NAMES = regex.compile(r"[^a-zA-Z0-9_:]")


def metric_name(feature: str) -> str:
    """SageMaker's metric name of a feature's attribution, `feature_<name>`, as Prometheus allows it."""
    return "feature_" + str(_NOT_IN_NAMES.sub("_", feature))


class MonitoringCollector(Collector):
    """Collects the monitoring metrics from the database of `services` at each scrape."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the features' metrics are known only from the stored results."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metric families of the latest results, the executions' counts and the alerts."""
        families: dict[str, GaugeMetricFamily] = {}

        def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
            if name not in families:
                families[name] = GaugeMetricFamily(name, documentation, labels=labels)
            return families[name]

        for result in monitoring_results.latest(self.services):
            if result.publish_metrics:
                _result_metrics(result, gauge)
        with self.services.store.reading() as conn:
            existing = resources.of_kind(conn, schedules.KIND)
            counts = executions.counts_by_status(conn, [(s.account, s.region, s.name, s.creation_time)
                                                        for s in existing])
            alert_statuses = alerts.statuses(conn, existing)
        for schedule in existing:
            scope = [schedule.account, schedule.region, schedule.endpoint_name or "", schedule.name]
            for status, count in sorted(counts.get((schedule.account, schedule.region, schedule.name), {}).items()):
                gauge("clarimon_monitoring_executions", "Executions of the schedule by status.",
                      [*_SCHEDULE, "status"]).add_metric([*scope, status], count)
            for name in sorted(alerts.alerts_of(schedule)):
                in_alert = alert_statuses[(schedule.arn, name)] == alerts.IN_ALERT
                gauge("clarimon_monitoring_alert_in_alert", "1 when the monitoring alert is InAlert, 0 when OK.",
                      [*_SCHEDULE, "MonitoringAlertName"]).add_metric([*scope, name], float(in_alert))
        yield from families.values()


def _result_metrics(result: Result, gauge: Callable[[str, str, list[str]], GaugeMetricFamily]) -> None:
    scope = [result.account, result.region, result.endpoint_name or "", result.schedule_name]
    for label in result.labels:
        dimensions = [*scope, "KernelShap", label.label]
        for attribution in label.attributions:
            if attribution.value is not None:
                gauge(metric_name(attribution.feature), f"Global SHAP value of feature {attribution.feature} in "
                      "the schedule's latest execution.", [*_DIMENSIONS, "FeatureName"]).add_metric(
                    [*dimensions, "GlobalShapValues", attribution.feature], attribution.value)
        if label.expected_value is not None:
            gauge("ExpectedValue", "Expected value (the model's average output over the baseline) in the schedule's "
                  "latest execution.", _DIMENSIONS).add_metric([*dimensions, "ExpectedValue"], label.expected_value)
        if label.ndcg is not None:
            gauge("clarimon_monitoring_ndcg", "NDCG of the latest execution's feature ranking against the baseline.",
                  [*_SCHEDULE, "Label"]).add_metric([*scope, label.label], label.ndcg)
            gauge("clarimon_monitoring_ndcg_threshold", "The NDCG under which an execution reports attribution "
                  "drift.", [*_SCHEDULE, "Label"]).add_metric([*scope, label.label], label.threshold)
    last = "the schedule's latest ended execution"
    gauge("clarimon_monitoring_last_execution_scheduled_time_seconds", f"Scheduled time of {last} (epoch seconds).",
          _SCHEDULE).add_metric(scope, result.scheduled_time)
    gauge("clarimon_monitoring_last_execution_end_time_seconds", f"When {last} ended (epoch seconds).",
          _SCHEDULE).add_metric(scope, result.end_time)
    if result.duration is not None:
        gauge("clarimon_monitoring_last_execution_duration_seconds", f"How long {last} ran.",
              _SCHEDULE).add_metric(scope, result.duration)
    gauge("clarimon_monitoring_last_execution_violations", f"Violations {last} reported.",
          _SCHEDULE).add_metric(scope, len(result.violations))
    gauge("clarimon_monitoring_last_execution_status", f"1 for the status of {last}.",
          [*_SCHEDULE, "status"]).add_metric([*scope, result.status], 1.0)
