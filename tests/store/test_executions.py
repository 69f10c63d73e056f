"""Executions are unique per schedule and time (the claim), page by their own filters, and leases expire."""

from __future__ import annotations

import pytest

from clarimon.errors import ResourceInUse
from clarimon.store import Store, executions
from clarimon.store.executions import ExecutionQuery
from clarimon.store.resources import Bound

COMMON = {"account": "000000000000", "region": "r", "endpoint_name": "ep", "job_definition_name": "jd",
          "monitoring_type": "ModelExplainability"}


def add(store: Store, schedule: str, scheduled: float, status: str = "Pending", now: float = 1.0) -> None:
    with store.transaction() as conn:
        executions.insert(conn, schedule_name=schedule, scheduled_time=scheduled, now=now, status=status,
                          processing_job_arn=f"arn:job/{schedule}-{scheduled}", **COMMON)


def test_a_scheduled_time_is_taken_once(store: Store) -> None:
    add(store, "s", 3600.0)
    with pytest.raises(ResourceInUse):
        add(store, "s", 3600.0)
    add(store, "other", 3600.0)
    add(store, "s", 7200.0)
    with store.reading() as conn:
        latest = executions.latest(conn, "000000000000", "r", "s")
    assert latest is not None and latest.scheduled_time == 7200.0


def test_pages_filter_and_sort(store: Store) -> None:
    for i, status in enumerate(["Completed", "Failed", "Completed", "InProgress", "Completed"]):
        add(store, "s" if i % 2 == 0 else "t", 3600.0 * (i + 1), status, now=10.0 - i)
    query = ExecutionQuery("000000000000", "r", limit=10, sort_by="ScheduledTime", descending=False,
                           schedule_name="s", status="Completed")
    with store.reading() as conn:
        found = executions.page(conn, query)
        assert [e.scheduled_time for e in found] == [3600.0, 3 * 3600.0, 5 * 3600.0]
        first = executions.page(conn, ExecutionQuery("000000000000", "r", limit=2))  # CreationTime descending
        assert [e.creation_time for e in first] == [10.0, 9.0, 8.0]  # one more than the limit
        after = (executions.sort_value(first[1], "CreationTime"), first[1].id)
        rest = executions.page(conn, ExecutionQuery("000000000000", "r", limit=10, after=after))
        assert [e.creation_time for e in rest] == [8.0, 7.0, 6.0]
        window = ExecutionQuery("000000000000", "r", limit=10, scheduled_after=Bound(3600.0),
                                scheduled_before=Bound(5 * 3600.0))
        assert sorted(e.scheduled_time for e in executions.page(conn, window)) == [7200.0, 3 * 3600.0, 4 * 3600.0]
        assert executions.page(conn, ExecutionQuery("000000000000", "elsewhere", limit=10)) == []


def test_leases_are_renewed_by_their_owner_and_released(store: Store) -> None:
    with store.transaction() as conn:
        executions.take_lease(conn, "arn:a", "me", 100.0)
        executions.take_lease(conn, "arn:b", "other", 100.0)
    with store.transaction() as conn:
        executions.beat(conn, "me", 200.0)
    with store.reading() as conn:
        assert executions.lease_of(conn, "arn:a") == ("me", 200.0)
        assert executions.lease_of(conn, "arn:b") == ("other", 100.0)
    with store.transaction() as conn:
        executions.release(conn, "arn:a")
    with store.reading() as conn:
        assert executions.lease_of(conn, "arn:a") is None
