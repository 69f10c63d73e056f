"""ListMonitoringExecutions: every execution of the caller's schedules, filtered, sorted and paginated."""

from __future__ import annotations

from clarimon.control.context import Context, Request, Response
from clarimon.control.listing import DEFAULT_MAX_RESULTS, DEFAULT_SORT_ORDER, keyset_page, time_member
from clarimon.control.schedules import execution_summary
from clarimon.store import executions
from clarimon.store.executions import ExecutionQuery

OPERATION = "ListMonitoringExecutions"


def list_(ctx: Context, request: Request) -> Response:
    """ListMonitoringExecutions: the caller's executions, filtered, sorted and paginated."""
    query = ExecutionQuery(
        account=ctx.account,
        region=ctx.region,
        limit=int(request.get("MaxResults", DEFAULT_MAX_RESULTS)),
        sort_by=request.get("SortBy", "CreationTime"),
        descending=request.get("SortOrder", DEFAULT_SORT_ORDER) == "Descending",
        schedule_name=request.get("MonitoringScheduleName"),
        endpoint_name=request.get("EndpointName"),
        job_definition_name=request.get("MonitoringJobDefinitionName"),
        monitoring_type=request.get("MonitoringTypeEquals"),
        status=request.get("StatusEquals"),
        scheduled_before=time_member(request, OPERATION, "ScheduledTimeBefore"),
        scheduled_after=time_member(request, OPERATION, "ScheduledTimeAfter"),
        created_before=time_member(request, OPERATION, "CreationTimeBefore"),
        created_after=time_member(request, OPERATION, "CreationTimeAfter"),
        modified_before=time_member(request, OPERATION, "LastModifiedTimeBefore"),
        modified_after=time_member(request, OPERATION, "LastModifiedTimeAfter"),
    )
    rows, token = keyset_page(ctx, OPERATION, request, query, executions.page, executions.sort_value)
    response: Response = {"MonitoringExecutionSummaries": [execution_summary(e) for e in rows]}
    if token:
        response["NextToken"] = token
    return response
