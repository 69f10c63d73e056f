"""The List* operations' shared mechanics: filters, sort order, MaxResults and NextToken."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from clarimon.control import pagination
from clarimon.control.context import Context, Request
from clarimon.store import resources
from clarimon.store.alerts import HistoryQuery, Transition
from clarimon.store.executions import Execution, ExecutionQuery
from clarimon.store.resources import Bound, ListQuery, Resource
from clarimon.timestamps import parse_timestamp

DEFAULT_MAX_RESULTS = 10

# Every served List operation lists newest first when the request gives no SortOrder. botocore documents
# `Descending` as the default of each but ListProcessingJobs, whose `Ascending` is the same wording as
# ListTrainingJobs', observed to list newest first; ListEndpoints' documentation said `Ascending` too (2018)
# before it was corrected to `Descending`. The README's "List order" says why clarimon keeps newest first here.
DEFAULT_SORT_ORDER = "Descending"

# The time filters that let a time equal to their bound pass, as botocore's documentation of each member words
# it ("with a creation time greater than or equal to", "on or after", "on or before"); the others say "after"
# or "before" and are strict. `tests/control/test_listing.py` checks this against the installed botocore.
INCLUSIVE_BOUNDS = frozenset({
    ("ListModels", "CreationTimeAfter"),
    ("ListEndpointConfigs", "CreationTimeAfter"),
    ("ListEndpoints", "CreationTimeAfter"),
    ("ListMonitoringAlertHistory", "CreationTimeBefore"),
    ("ListMonitoringAlertHistory", "CreationTimeAfter"),
})

Query = TypeVar("Query", ListQuery, ExecutionQuery, HistoryQuery)
Item = TypeVar("Item", Resource, Execution, Transition)


@dataclass(frozen=True)
class Page:
    """One page of a list: its resources and the token of the next page, if any."""

    items: list[Resource]
    next_token: str | None


def list_resources(ctx: Context, operation: str, kind: str, request: Request) -> Page:
    """One page of `kind` in the caller's account and region, as the request's common List members ask."""
    query = ListQuery(
        kind=kind,
        account=ctx.account,
        region=ctx.region,
        limit=int(request.get("MaxResults", DEFAULT_MAX_RESULTS)),
        sort_by=request.get("SortBy", "CreationTime"),
        descending=request.get("SortOrder", DEFAULT_SORT_ORDER) == "Descending",
        name_contains=request.get("NameContains") or None,
        endpoint_name=request.get("EndpointName"),
        created_before=time_member(request, operation, "CreationTimeBefore"),
        created_after=time_member(request, operation, "CreationTimeAfter"),
        status=request.get("StatusEquals"),
        modified_before=time_member(request, operation, "LastModifiedTimeBefore"),
        modified_after=time_member(request, operation, "LastModifiedTimeAfter"),
        job_definition_name=request.get("MonitoringJobDefinitionName"),
        monitoring_type=request.get("MonitoringTypeEquals"),
    )
    rows, token = keyset_page(ctx, operation, request, query, resources.page, resources.sort_value)
    return Page(rows, token)


def keyset_page(ctx: Context, operation: str, request: Request, query: Query,
                fetch: Callable[[Connection, Query], list[Item]],
                sort_value: Callable[[Item, str], Any]) -> tuple[list[Item], str | None]:
    """One page of `query` resumed after the request's NextToken, and the token of the next page (None at the
    end). A token is good only for the listing that issued it: same operation, caller, filters and order."""
    scope = {"op": operation, **{k: v for k, v in dataclasses.asdict(query).items() if k not in ("limit", "after")}}
    if request.get("NextToken"):
        query = dataclasses.replace(query, after=pagination.cursor(ctx.store.secret(), request["NextToken"], scope))
    with ctx.store.reading() as conn:
        rows = fetch(conn, query)
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[: query.limit]
    last = rows[-1]
    return rows, pagination.encode(ctx.store.secret(), scope, [sort_value(last, query.sort_by), last.id])


def time_member(request: Request, operation: str, member: str) -> Bound | None:
    """A request's time filter as a bound in epoch seconds (inclusive where `operation` documents it so), or None
    when absent."""
    value = request.get(member)
    if value is None:
        return None
    return Bound(parse_timestamp(value, member), (operation, member) in INCLUSIVE_BOUNDS)
