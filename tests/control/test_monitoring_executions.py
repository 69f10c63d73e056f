"""ListMonitoringExecutions: filters, sort orders and pages over the caller's executions only."""

from __future__ import annotations

import dataclasses

from clarimon.control import monitoring_executions
from clarimon.control.context import Context
from clarimon.store import executions


def add(ctx: Context, schedule: str, hour: int, status: str) -> None:
    with ctx.store.transaction() as conn:
        executions.insert(conn, account=ctx.account, region=ctx.region, schedule_name=schedule,
                          scheduled_time=hour * 3600.0, now=ctx.now(), status=status, endpoint_name="ep",
                          job_definition_name="def", monitoring_type="ModelExplainability")


def test_filters_sorts_and_pages(ctx: Context) -> None:
    add(ctx, "a", 1, "Completed")
    add(ctx, "a", 2, "Failed")
    add(ctx, "a", 3, "CompletedWithViolations")
    add(ctx, "b", 1, "Completed")
    add(dataclasses.replace(ctx, account="111111111111"), "a", 4, "Completed")

    def times(**request: object) -> list[float]:
        found = monitoring_executions.list_(ctx, dict(request))["MonitoringExecutionSummaries"]
        return [e["ScheduledTime"] / 3600 for e in found]

    assert times(MonitoringScheduleName="a", SortBy="ScheduledTime", SortOrder="Ascending") == [1, 2, 3]
    assert times(StatusEquals="Completed", SortBy="ScheduledTime") == [1, 1]
    assert times(MonitoringScheduleName="a", ScheduledTimeAfter=3600.0, SortBy="ScheduledTime") == [3, 2]
    first = monitoring_executions.list_(ctx, {"MaxResults": 2, "SortBy": "ScheduledTime", "SortOrder": "Ascending"})
    assert "NextToken" in first and len(first["MonitoringExecutionSummaries"]) == 2
    rest = monitoring_executions.list_(ctx, {"MaxResults": 2, "SortBy": "ScheduledTime", "SortOrder": "Ascending",
                                             "NextToken": first["NextToken"]})
    assert len(rest["MonitoringExecutionSummaries"]) == 2 and "NextToken" not in rest  # 4 of this account
