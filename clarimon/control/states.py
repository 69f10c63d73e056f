"""The statuses of endpoints, processing jobs, monitoring executions and schedules, and one transition table
per resource that every guard consults.

The values are SageMaker's wire strings (a `StrEnum` compares equal to them, so stored rows and requests need
no conversion). A status change that is not in its resource's table is refused by the guard that asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class EndpointStatus(StrEnum):
    """EndpointStatus, as clarimon sets it."""

    CREATING = "Creating"
    UPDATING = "Updating"
    IN_SERVICE = "InService"
    DELETING = "Deleting"
    FAILED = "Failed"


class ProcessingJobStatus(StrEnum):
    """ProcessingJobStatus."""

    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"


class ExecutionStatus(StrEnum):
    """MonitoringExecutionStatus."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    COMPLETED_WITH_VIOLATIONS = "CompletedWithViolations"
    FAILED = "Failed"
    STOPPED = "Stopped"


class ScheduleStatus(StrEnum):
    """MonitoringScheduleStatus, as clarimon sets it (a schedule is Scheduled from its creation; Failed when the
    scheduler cannot plan it, until an update mends it)."""

    SCHEDULED = "Scheduled"
    STOPPED = "Stopped"
    FAILED = "Failed"


S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Transitions(Generic[S]):
    """A resource's state machine: from each status, the statuses it may become."""

    resource: str
    table: Mapping[S, frozenset[S]]

    def allows(self, source: str | None, target: S) -> bool:
        """Whether a resource in `source` may become `target` (an unknown or missing status may not)."""
        return any(source == state and target in targets for state, targets in self.table.items())

    def sources(self, target: S) -> tuple[S, ...]:
        """The statuses from which a resource may become `target`."""
        return tuple(state for state, targets in self.table.items() if target in targets)


_E, _P, _X, _S = EndpointStatus, ProcessingJobStatus, ExecutionStatus, ScheduleStatus

# Creating -> InService (every variant's model loaded) or Failed; an update rolls back to InService when it
# fails; a delete may come at any time.
ENDPOINT = Transitions("endpoint", {
    _E.CREATING: frozenset({_E.IN_SERVICE, _E.FAILED, _E.DELETING}),
    _E.UPDATING: frozenset({_E.IN_SERVICE, _E.DELETING}),
    _E.IN_SERVICE: frozenset({_E.UPDATING, _E.IN_SERVICE, _E.DELETING}),
    _E.FAILED: frozenset({_E.DELETING}),
})

# A job ends from InProgress, or from Stopping when its process answered before the stop took effect.
PROCESSING_JOB = Transitions("processing job", {
    _P.IN_PROGRESS: frozenset({_P.STOPPING, _P.COMPLETED, _P.FAILED, _P.STOPPED}),
    _P.STOPPING: frozenset({_P.COMPLETED, _P.FAILED, _P.STOPPED}),
})

_ENDED = frozenset({_X.COMPLETED, _X.COMPLETED_WITH_VIOLATIONS, _X.FAILED, _X.STOPPED})
EXECUTION = Transitions("monitoring execution", {
    _X.PENDING: frozenset({_X.IN_PROGRESS, _X.STOPPING, *_ENDED}),
    _X.IN_PROGRESS: frozenset({_X.STOPPING, *_ENDED}),
    _X.STOPPING: _ENDED,
})

SCHEDULE = Transitions("monitoring schedule", {
    _S.SCHEDULED: frozenset({_S.STOPPED, _S.FAILED}),
    _S.STOPPED: frozenset({_S.SCHEDULED}),
    _S.FAILED: frozenset({_S.SCHEDULED}),  # by an update that mends it
})

# An endpoint answers InvokeEndpoint while it serves a configuration: also during an update, on the old one.
SERVING = (EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING)
# Deployed again after a restart: what was serving or on its way to serving.
DEPLOYED = (EndpointStatus.CREATING, EndpointStatus.UPDATING, EndpointStatus.IN_SERVICE)
# A processing job whose process may still run (a lease says which server runs it).
RUNNING = (ProcessingJobStatus.IN_PROGRESS, ProcessingJobStatus.STOPPING)
