"""What the web console shows, read from the store for one account: its endpoints and schedules at a glance (as
SageMaker's Model Dashboard), one schedule's executions over time, one execution, one endpoint.

Every read is narrowed to the viewer's account (a console session is one account's, as an API caller is); a
resource of another account is simply not found. Reads are bounded so that long histories stay fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control import alerts, arns, endpoint_configs, endpoints, monitoring_results, processing_jobs, schedules
from clarimon.control.context import Context, Services
from clarimon.control.families import Family
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.states import ExecutionStatus
from clarimon.engine.drift import LabelResult
from clarimon.store import alerts as alert_history
from clarimon.store import executions, resources, results, series
from clarimon.store.alerts import HistoryQuery, Transition
from clarimon.store.executions import Execution
from clarimon.store.resources import Resource
from clarimon.store.results import Result as Result  # the console reads these through here
from clarimon.store.series import Step as Step

HISTORY = 1000  # executions a schedule page shows by default
MAX_HISTORY = monitoring_results.MAX_SERIES
TOP_FEATURES = 5  # features charted over time: the latest execution's strongest
ALERT_HISTORY = 50  # alert transitions a schedule page lists
EXPLAINED = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.COMPLETED_WITH_VIOLATIONS})  # have attributions


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule on the overview: where it is, what it watches, how its latest execution ended, its alert."""

    schedule: Resource
    latest: Execution | None
    alert_status: str
    labels: tuple[LabelResult, ...]  # the latest execution's labels (none until it ends having explained)


@dataclass(frozen=True)
class EndpointRow:
    """An endpoint on the overview, with whether it captures data and how many schedules watch it."""

    endpoint: Resource
    capturing: bool
    schedules: int


@dataclass(frozen=True)
class Overview:
    """Everything of an account, in every region: endpoints and schedules, sorted by region and name."""

    endpoints: list[EndpointRow]
    schedules: list[ScheduleRow]


@dataclass(frozen=True)
class Trend:
    """One label's values over time, oldest first, as (scheduled time, value, execution id)."""

    label: str
    name: str
    points: list[tuple[float, float, int]]
    reference: float | None  # the baseline's value (a feature), or the threshold (NDCG)


@dataclass(frozen=True)
class ScheduleView:
    """One schedule: its resource, its alert's rule, status and history, its latest executions (oldest first),
    each label's NDCG over them and the strongest features' attributions."""

    schedule: Resource
    executions: list[Step]
    alert_name: str
    alert_rule: dict[str, Any]
    alert_status: str
    total: int
    ndcg: list[Trend] = field(default_factory=list)
    features: list[Trend] = field(default_factory=list)
    history: list[Transition] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionView:
    """One execution: its row, its processing job's document (None once gone), and its output prefix."""

    execution: Execution
    job: dict[str, Any] | None
    output_uri: str | None
    result: Result | None = None  # what it found, with its labels and attributions beside the baseline's


@dataclass(frozen=True)
class EndpointView:
    """One endpoint as DescribeEndpoint shows it, its configuration as DescribeEndpointConfig does, and the
    schedules that watch it."""

    endpoint: dict[str, Any]
    config: dict[str, Any] | None
    schedules: list[Resource] = field(default_factory=list)


def overview(services: Services, account: str) -> Overview:
    """The account's endpoints and schedules in every region, each schedule with its latest execution."""
    with services.store.reading() as conn:
        found_endpoints = resources.of_kind(conn, endpoints.KIND, account)
        configs = {(c.region, c.name): c for c in resources.of_kind(conn, "endpoint-config", account)}
        found_schedules = resources.of_kind(conn, schedules.KIND, account)
        latest = []
        for schedule in found_schedules:
            last = executions.latest(conn, account, schedule.region, schedule.name)
            latest.append(last if last is not None and last.creation_time >= schedule.creation_time else None)
        # one query each for every schedule's latest result and every alert's latest transition
        scored = {(r.region, r.schedule_name): r.labels
                  for r in results.with_labels(conn, results.latest(conn, schedules.KIND, account), features=())}
        transitions = {(t.region, t.schedule_name, t.alert_name): t for t in alert_history.latest(conn, account)}
    rows = []
    for schedule, last in zip(found_schedules, latest, strict=True):
        states = [_current(transitions.get((schedule.region, schedule.name, name)), schedule)
                  for name in alerts.alerts_of(schedule)]
        rows.append(ScheduleRow(schedule, last, alerts.IN_ALERT if alerts.IN_ALERT in states else alerts.OK,
                                scored.get((schedule.region, schedule.name), ())))
    watching: dict[tuple[str, str], int] = {}
    for schedule in found_schedules:
        key = (schedule.region, schedule.endpoint_name or "")
        watching[key] = watching.get(key, 0) + 1
    endpoint_rows = []
    for endpoint in found_endpoints:
        config = configs.get((endpoint.region, endpoint.document.get("EndpointConfigName", "")))
        capture = (config.document.get("DataCaptureConfig") or {}) if config is not None else {}
        endpoint_rows.append(EndpointRow(endpoint, bool(capture.get("EnableCapture")),
                                         watching.get((endpoint.region, endpoint.name), 0)))
    return Overview(sorted(endpoint_rows, key=lambda r: (r.endpoint.region, r.endpoint.name)),
                    sorted(rows, key=lambda r: (r.schedule.region, r.schedule.name)))


def _current(transition: Transition | None, schedule: Resource) -> str:
    """An alert's status from its latest transition: OK without one since the schedule (of that name) was made."""
    if transition is None or transition.creation_time < schedule.creation_time:
        return alerts.OK
    return transition.status


def _alert_status(conn: Connection, schedule: Resource) -> str:
    """InAlert when any alert of the schedule is (a model explainability schedule has one)."""
    found = [alerts.status_of(conn, schedule, name) for name in alerts.alerts_of(schedule)]
    return alerts.IN_ALERT if alerts.IN_ALERT in found else alerts.OK


def schedule(services: Services, account: str, region: str, name: str, *, limit: int = HISTORY
             ) -> ScheduleView | None:
    """The schedule and its latest `limit` executions (at most MAX_HISTORY), oldest first; None when the account
    has no such schedule in the region."""
    ctx = Context(account, region, services)
    found = _get(ctx, schedules.FAMILY, name)
    if found is None:
        return None
    limit = max(1, min(limit, MAX_HISTORY))
    alert_name, rule = next(iter(sorted(alerts.alerts_of(found).items())))
    with services.store.reading() as conn:
        rows = series.steps(conn, account, region, found.name, created_since=found.creation_time, limit=limit)
        counts = executions.counts_by_status(conn, [(account, region, found.name, found.creation_time)])
        total = sum(counts.get((account, region, found.name), {}).values())
        history = alert_history.page(conn, HistoryQuery(account, region, limit=ALERT_HISTORY,
                                                        schedule_name=found.name))
        status = _alert_status(conn, found)
    explained = [e for e in rows if e.status in EXPLAINED]
    newest = monitoring_results.detail(services, account, region, explained[-1].id) if explained else None
    ndcg, features = _trends(services, found, rows, newest)
    history = [t for t in history[:ALERT_HISTORY] if t.creation_time >= found.creation_time]
    return ScheduleView(found, rows, alert_name, rule, status, total, ndcg, features, history)


def _trends(services: Services, schedule: Resource, shown: list[Step], newest: Result | None
            ) -> tuple[list[Trend], list[Trend]]:
    """Each label's NDCG over the `shown` executions, and the attributions over them of the features strongest
    in `newest` (of its first label), with their baseline values."""
    top: list[str] = []
    baseline: dict[str, float | None] = {}
    if newest is not None and newest.labels:
        attributions = newest.labels[0].attributions
        strongest = sorted((a for a in attributions if a.value is not None), key=lambda a: -abs(a.value or 0.0))
        top = [a.feature for a in strongest[:TOP_FEATURES]]
        baseline = {a.feature: a.baseline for a in attributions}
    found = monitoring_results.series(services, schedule.account, schedule.region, schedule.name,
                                      limit=len(shown) or 1, features=top) if shown else []
    ndcg: dict[str, Trend] = {}
    features = {name: Trend(newest.labels[0].label if newest else "", name, [], baseline.get(name)) for name in top}
    for result in found:
        for label in result.labels:
            trend = ndcg.setdefault(label.label, Trend(label.label, label.label, [], label.threshold))
            if label.ndcg is not None:
                trend.points.append((result.scheduled_time, label.ndcg, result.execution_id))
            if newest is None or label.label != newest.labels[0].label:
                continue
            for a in label.attributions:
                if a.value is not None and a.feature in features:
                    features[a.feature].points.append((result.scheduled_time, a.value, result.execution_id))
    return _sorted(ndcg.values()), _sorted(features[name] for name in top)


def _sorted(trends: Iterable[Trend]) -> list[Trend]:
    found = list(trends)
    for trend in found:
        trend.points.sort()
    return found


def execution(services: Services, account: str, region: str, execution_id: int) -> ExecutionView | None:
    """One execution of the account in the region, with its processing job; None when there is none."""
    with services.store.reading() as conn:
        found = executions.one(conn, account, region, execution_id)
        job = resources.get(conn, found.processing_job_arn) if found and found.processing_job_arn else None
    if found is None:
        return None
    run = MonitoringRun.of(job.document) if job is not None else None
    document = processing_jobs.FAMILY.described(job) if job is not None else None
    if document is not None:
        document = {k: v for k, v in document.items() if k != processing_jobs.RUN}
    result = monitoring_results.detail(services, account, region, execution_id)
    output = run.output_uri if run is not None else result.output_uri if result is not None else None
    return ExecutionView(found, document, output, result)


def endpoint(services: Services, account: str, region: str, name: str) -> EndpointView | None:
    """The endpoint and its configuration as their Describe operations show them; None when there is none."""
    ctx = Context(account, region, services)
    found = _get(ctx, endpoints.FAMILY, name)
    if found is None:
        return None
    config = _get(ctx, endpoint_configs.FAMILY, found.document.get("EndpointConfigName", ""))
    with services.store.reading() as conn:
        watching = [s for s in resources.of_kind(conn, schedules.KIND, account, region) if s.endpoint_name == name]
    return EndpointView(endpoints.FAMILY.described(found),
                        endpoint_configs.FAMILY.described(config) if config is not None else None, watching)


def _get(ctx: Context, family: Family, name: str) -> Resource | None:
    with ctx.store.reading() as conn:
        return resources.get(conn, arns.arn(ctx, family.kind, name))
