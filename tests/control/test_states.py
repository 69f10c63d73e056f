"""The transition tables: closed over their statuses, and as the resources' docstrings draw them."""

from __future__ import annotations

from typing import Any

import pytest

from clarimon.control.states import (
    ENDPOINT,
    EXECUTION,
    PROCESSING_JOB,
    SCHEDULE,
    EndpointStatus,
    ExecutionStatus,
    ProcessingJobStatus,
    ScheduleStatus,
    Transitions,
)

TABLES: list[tuple[Transitions[Any], type]] = [
    (ENDPOINT, EndpointStatus), (PROCESSING_JOB, ProcessingJobStatus), (EXECUTION, ExecutionStatus),
    (SCHEDULE, ScheduleStatus),
]


@pytest.mark.parametrize(("table", "statuses"), TABLES)
def test_tables_use_only_their_statuses(table: Transitions[Any], statuses: type) -> None:
    for source, targets in table.table.items():
        assert isinstance(source, statuses) and all(isinstance(t, statuses) for t in targets)


def test_statuses_are_the_wire_strings() -> None:
    wire: list[str] = ["CompletedWithViolations", "InService", "Scheduled"]
    assert [ExecutionStatus.COMPLETED_WITH_VIOLATIONS, EndpointStatus.IN_SERVICE, ScheduleStatus.SCHEDULED] == wire
    assert f"{ProcessingJobStatus.IN_PROGRESS}" == "InProgress"


def test_an_unknown_or_missing_status_allows_nothing() -> None:
    assert not EXECUTION.allows(None, ExecutionStatus.STOPPING)
    assert not EXECUTION.allows("Sideways", ExecutionStatus.STOPPING)
    assert EXECUTION.allows("Pending", ExecutionStatus.STOPPING)  # a stored string is a status


def test_executions_move_as_drawn() -> None:
    # Pending -> InProgress -> Completed | CompletedWithViolations | Failed | Stopped;
    # (Pending | InProgress) -> Stopping -> Stopped. Ended executions stay ended.
    assert EXECUTION.sources(ExecutionStatus.IN_PROGRESS) == (ExecutionStatus.PENDING,)
    assert set(EXECUTION.sources(ExecutionStatus.STOPPING)) == {ExecutionStatus.PENDING, ExecutionStatus.IN_PROGRESS}
    for ended in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED,
                  ExecutionStatus.COMPLETED_WITH_VIOLATIONS):
        assert not any(EXECUTION.allows(ended, target) for target in ExecutionStatus)


def test_processing_jobs_end_from_running_states_only() -> None:
    for target in (ProcessingJobStatus.COMPLETED, ProcessingJobStatus.FAILED, ProcessingJobStatus.STOPPED):
        assert set(PROCESSING_JOB.sources(target)) == {ProcessingJobStatus.IN_PROGRESS, ProcessingJobStatus.STOPPING}
    assert PROCESSING_JOB.sources(ProcessingJobStatus.STOPPING) == (ProcessingJobStatus.IN_PROGRESS,)


def test_endpoints_update_only_in_service_and_schedules_toggle() -> None:
    assert ENDPOINT.sources(EndpointStatus.UPDATING) == (EndpointStatus.IN_SERVICE,)
    assert all(ENDPOINT.allows(status, EndpointStatus.DELETING) for status in ENDPOINT.table)
    assert SCHEDULE.allows("Scheduled", ScheduleStatus.STOPPED) and SCHEDULE.allows("Stopped", ScheduleStatus.SCHEDULED)
    assert not SCHEDULE.allows("Scheduled", ScheduleStatus.SCHEDULED)
