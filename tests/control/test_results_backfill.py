"""The one-time recording of results for executions that ended before clarimon recorded them."""

from __future__ import annotations

import time

import orjson
import sqlalchemy as sa

from clarimon.control import alerts, arns, monitoring_results, processing_jobs, results_backfill
from clarimon.control.context import Context
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.engine import drift
from clarimon.store import executions, resources
from clarimon.store.tables import execution_results
from tests.control.test_alerts import scheduled  # noqa: F401 (fixture)
from tests.control.test_monitoring_results import BASELINE, DRIFTED, HOUR, NORMAL, START


def ended_before(ctx: Context, hour: int, status: str, files: dict[str, bytes]) -> int:
    """An execution as clarimon left it before it recorded results: its rows ended, its files written."""
    name = f"old-{hour}"
    arn = arns.arn(ctx, processing_jobs.KIND, name)
    output = f"s3://bucket/out/{hour}"
    run = MonitoringRun(config_uri="s3://bucket/config.json", constraints_uri="s3://bucket/baseline.json",
                        output_uri=output, start=0, end=0, endpoint="churn", data_uri=None, input={},
                        schedule="hourly")
    for file, content in files.items():
        ctx.services.objects.write(f"{output}/{file}", content)
    now = time.time()
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind=processing_jobs.KIND, account=ctx.account, region=ctx.region, name=name,
                         arn=arn, now=now, tags=[], status="Failed" if status == "Failed" else "Completed",
                         document={processing_jobs.RUN: run.stored(), "ProcessingStartTime": now - 10,
                                   "ProcessingEndTime": now - 1})
        executions.insert(conn, account=ctx.account, region=ctx.region, schedule_name="hourly",
                          scheduled_time=START + hour * HOUR, now=now, status=status, endpoint_name="churn",
                          job_definition_name="def", monitoring_type="ModelExplainability", processing_job_arn=arn)
        execution = executions.by_job(conn, arn)
    assert execution is not None
    return execution.id


def test_executions_that_ended_before_are_recorded_once(scheduled: Context) -> None:  # noqa: F811
    ctx = scheduled
    ctx.services.objects.write("s3://bucket/baseline.json", orjson.dumps(BASELINE))
    violations = {"version": "1.0", "violations": drift.violations(BASELINE, DRIFTED)}
    normal = ended_before(ctx, 0, "Completed", {"analysis.json": orjson.dumps(NORMAL)})
    drifted = ended_before(ctx, 1, "CompletedWithViolations", {
        "analysis.json": orjson.dumps(DRIFTED), "constraint_violations.json": orjson.dumps(violations)})
    unreadable = ended_before(ctx, 2, "Completed", {"analysis.json": b"{not json"})
    failed = ended_before(ctx, 3, "Failed", {})
    assert not results_backfill.done(ctx.services)

    assert results_backfill.backfill(ctx.services) == 4
    assert results_backfill.done(ctx.services)
    found = {i: monitoring_results.detail(ctx.services, ctx.account, ctx.region, i)
             for i in (normal, drifted, unreadable, failed)}
    assert all(r is not None for r in found.values())
    drifted_result = found[drifted]
    assert drifted_result is not None and drifted_result.status == "CompletedWithViolations"
    assert drifted_result.labels[0].ndcg is not None and drifted_result.labels[0].ndcg < 0.9
    assert [(a.feature, a.value, a.baseline) for a in drifted_result.labels[0].attributions][0] == ("sat", 0.1, 0.7)
    assert drifted_result.violations == violations["violations"]
    assert drifted_result.duration is not None and 8.9 < drifted_result.duration < 9.1
    assert drifted_result.output_uri == "s3://bucket/out/1"
    normal_result, unreadable_result = found[normal], found[unreadable]
    assert normal_result is not None and len(normal_result.labels[0].attributions) == 3
    assert unreadable_result is not None and unreadable_result.labels == ()  # logged, recorded without them
    # the alert is evaluated over what was filled: the latest one (Failed) fails the default rule
    [alert] = alerts.list_(ctx, {"MonitoringScheduleName": "hourly"})["MonitoringAlertSummaries"]
    assert alert["AlertStatus"] == "InAlert"

    # done once: an execution recorded no result since (none can be, but a later start must not read files)
    ended_before(ctx, 4, "Completed", {"analysis.json": orjson.dumps(NORMAL)})
    assert results_backfill.backfill(ctx.services) == 0
    with ctx.store.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(execution_results)).scalar_one() == 4
