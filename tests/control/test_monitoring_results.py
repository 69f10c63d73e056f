"""What executions found, recorded when they end and read back: the latest per schedule, a schedule's series,
one execution's detail."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

from clarimon.control import arns, job_definitions, monitoring_results, processing_jobs, schedules
from clarimon.control.context import Context
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.states import ExecutionStatus, ProcessingJobStatus
from clarimon.engine import drift
from clarimon.engine.drift import LabelResult
from clarimon.jobs import leases
from clarimon.jobs.task import Outcome
from clarimon.store import executions, resources
from tests.control.test_schedules import schedule_request
from tests.documents import minimal_definition

BASELINE: dict[str, Any] = {"explanations": {"kernel_shap": {"label0": {
    "global_shap_values": {"sat": 0.70, "gpa": 0.50, "rank": 0.05}, "expected_value": 0.4}}}}
NORMAL: dict[str, Any] = {"explanations": {"kernel_shap": {"label0": {
    "global_shap_values": {"sat": 0.66, "gpa": 0.52, "rank": 0.04}, "expected_value": 0.41}}}}
DRIFTED: dict[str, Any] = {"explanations": {"kernel_shap": {"label0": {  # the guide's example: NDCG 0.69
    "global_shap_values": {"sat": 0.10, "gpa": 0.20, "rank": 0.70}, "expected_value": 0.38}}}}
HOUR = 3600.0
START = 1_795_590_000.0  # 2026-11-25T07:00:00Z


@pytest.fixture
def scheduled(ctx: Context) -> Context:
    job_definitions.create(ctx, minimal_definition("def"))
    schedules.create(ctx, schedule_request())
    return ctx


def end_execution(ctx: Context, status: str, hour: int, schedule: str = "hourly",
                  labels: Sequence[LabelResult] = (), violations: Sequence[dict[str, str]] = (),
                  environment: dict[str, str] | None = None) -> int:
    """An execution of `schedule` at START + `hour` hours that ran and ended `status` through the runner's path
    (`leases.ended`), having found `labels` and `violations`; returns its id."""
    scheduled = START + hour * HOUR
    name = f"{schedule}-{hour}"
    arn = arns.arn(ctx, processing_jobs.KIND, name)
    run = MonitoringRun(config_uri="s3://bucket/config.json", constraints_uri="s3://bucket/baseline.json",
                        output_uri=f"s3://bucket/out/{hour}", start=scheduled - HOUR, end=scheduled,
                        endpoint="churn", data_uri=None, input={}, schedule=schedule)
    now = time.time()
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind=processing_jobs.KIND, account=ctx.account, region=ctx.region, name=name, arn=arn,
                         now=now, status=ProcessingJobStatus.IN_PROGRESS, tags=[],
                         document={processing_jobs.RUN: run.stored(), "Environment": environment or {},
                                   "ProcessingStartTime": now - 2.5})
        executions.insert(conn, account=ctx.account, region=ctx.region, schedule_name=schedule,
                          scheduled_time=scheduled, now=now, status=ExecutionStatus.IN_PROGRESS,
                          endpoint_name="churn", job_definition_name="def", monitoring_type="ModelExplainability",
                          processing_job_arn=arn)
        executions.take_lease(conn, arn, "test", now)
    job_status = {ExecutionStatus.FAILED: ProcessingJobStatus.FAILED,
                  ExecutionStatus.STOPPED: ProcessingJobStatus.STOPPED}.get(ExecutionStatus(status),
                                                                            ProcessingJobStatus.COMPLETED)
    reason = "Job inputs had no data" if status == ExecutionStatus.FAILED else None
    outcome = Outcome(ExecutionStatus(status), status, reason, labels=tuple(labels), violations=tuple(violations))
    leases.ended(ctx.services, arn, job_status, status, reason, ExecutionStatus(status), outcome)
    with ctx.store.reading() as conn:
        execution = executions.by_job(conn, arn)
    assert execution is not None
    return execution.id


def run(ctx: Context, hour: int, live: dict[str, Any], **kwargs: Any) -> int:
    """An execution that explained `live` against BASELINE and ended as its NDCG says."""
    labels = drift.compare(live, BASELINE)
    violations = drift.violations(BASELINE, live)
    status = ExecutionStatus.COMPLETED_WITH_VIOLATIONS if violations else ExecutionStatus.COMPLETED
    return end_execution(ctx, status, hour, labels=labels, violations=violations, **kwargs)


def test_an_ended_execution_records_its_attributions_beside_the_baseline(scheduled: Context) -> None:
    normal = run(scheduled, 0, NORMAL)
    drifted = run(scheduled, 1, DRIFTED)

    detail = monitoring_results.detail(scheduled.services, scheduled.account, scheduled.region, drifted)
    assert detail is not None
    assert (detail.status, detail.schedule_name, detail.scheduled_time) == ("CompletedWithViolations", "hourly",
                                                                            START + HOUR)
    assert detail.output_uri == "s3://bucket/out/1"
    assert detail.duration is not None and 2.4 < detail.duration < 60
    assert detail.processing_job_arn is not None and detail.processing_job_arn.endswith("/hourly-1")
    [label] = detail.labels
    assert label.ndcg == pytest.approx(0.69, abs=0.005) and label.threshold == 0.9
    assert (label.expected_value, label.baseline_expected_value) == (0.38, 0.4)
    assert [(a.feature, a.value, a.baseline) for a in label.attributions] == [
        ("sat", 0.10, 0.70), ("gpa", 0.20, 0.50), ("rank", 0.70, 0.05)]
    assert detail.violations[0]["constraint_check_type"] == "feature_attribution_drift_check"
    assert detail.publish_metrics

    normal_detail = monitoring_results.detail(scheduled.services, scheduled.account, scheduled.region, normal)
    assert normal_detail is not None and normal_detail.violations == []
    assert normal_detail.labels[0].ndcg is not None and normal_detail.labels[0].ndcg >= 0.9
    # another account sees nothing
    assert monitoring_results.detail(scheduled.services, "111111111111", scheduled.region, drifted) is None


def test_failed_and_stopped_executions_are_recorded_without_attributions(scheduled: Context) -> None:
    failed = end_execution(scheduled, ExecutionStatus.FAILED, 0)
    stopped = end_execution(scheduled, ExecutionStatus.STOPPED, 1, environment={
        "publish_cloudwatch_metrics": "Disabled"})
    for execution_id, status in ((failed, "Failed"), (stopped, "Stopped")):
        found = monitoring_results.detail(scheduled.services, scheduled.account, scheduled.region, execution_id)
        assert found is not None and found.status == status and found.labels == ()
    found = monitoring_results.detail(scheduled.services, scheduled.account, scheduled.region, failed)
    assert found is not None and found.failure_reason == "Job inputs had no data"
    stopped_found = monitoring_results.detail(scheduled.services, scheduled.account, scheduled.region, stopped)
    assert stopped_found is not None and not stopped_found.publish_metrics


def test_latest_and_series_read_the_current_schedules(scheduled: Context) -> None:
    schedules.create(scheduled, schedule_request("daily", "cron(0 5 ? * * *)"))
    ids = [run(scheduled, hour, NORMAL if hour % 3 else DRIFTED) for hour in range(6)]
    daily = run(scheduled, 0, NORMAL, schedule="daily")

    latest = monitoring_results.latest(scheduled.services)
    assert [(r.schedule_name, r.execution_id) for r in latest] == [("daily", daily), ("hourly", ids[-1])]
    assert latest[1].labels[0].attributions[0].feature == "sat"
    assert monitoring_results.latest(scheduled.services, "111111111111") == []

    series = monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "hourly", limit=4)
    assert [r.execution_id for r in series] == ids[2:]  # the latest four, oldest first
    assert [r.status for r in series] == ["Completed", "CompletedWithViolations", "Completed", "Completed"]
    assert all(len(r.labels[0].attributions) == 3 for r in series)
    earlier = monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "hourly", limit=2,
                                        before=START + 2 * HOUR, with_labels=False)
    assert [(r.execution_id, r.labels) for r in earlier] == [(ids[0], ()), (ids[1], ())]
    assert monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "nowhere") == []
    # the attributions of some features only (a chart's), or none (NDCG over time)
    some = monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "hourly", limit=2,
                                     features=["gpa"])
    assert [[(a.feature, a.value) for a in r.labels[0].attributions] for r in some] == [[("gpa", 0.52)]] * 2
    bare = monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "hourly", features=())
    assert [r.labels[0].ndcg is not None and r.labels[0].attributions == () for r in bare] == [True] * 6

    # a schedule deleted and created again under the same name starts with no results
    schedules.delete(scheduled, {"MonitoringScheduleName": "daily"})
    schedules.create(scheduled, schedule_request("daily", "cron(0 5 ? * * *)"))
    assert [r.schedule_name for r in monitoring_results.latest(scheduled.services)] == ["hourly"]
    assert monitoring_results.series(scheduled.services, scheduled.account, scheduled.region, "daily") == []
