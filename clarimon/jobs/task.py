"""What a job's process is given (a Task, with the Source of its rows) and what it answers (an Outcome)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from clarimon.control.states import ExecutionStatus
from clarimon.engine.config import AnalysisConfig
from clarimon.engine.drift import LabelResult
from clarimon.serving.workers import ModelSpec

NO_DATA = "Job inputs had no data"  # SageMaker's words: tools compare FailureReason with them


@dataclass(frozen=True)
class Source:
    """Where the rows come from: an endpoint's data capture (`uri` = <destination>/<endpoint>/), a batch
    transform's output (`uri` = DataCapturedDestinationS3Uri with `dataset_format`), or a Clarify job's dataset
    (`dataset`: read as the analysis config's dataset_type, headers and label say), and the input's attributes."""

    uri: str
    dataset: bool = False
    dataset_format: dict[str, Any] | None = None
    features_attribute: str | None = None
    inference_attribute: str | None = None
    probability_attribute: str | None = None
    exclude_features_attribute: str | None = None


@dataclass(frozen=True)
class ConfigFailure:
    """Why a job's analysis config cannot be used: its process fails with `reason`."""

    reason: str


@dataclass(frozen=True)
class Task:
    """What a job's process is given: where its config, baseline, rows and outputs are, its window and its model."""

    job_name: str
    home: str
    s3_endpoint_url: str | None
    config: AnalysisConfig | ConfigFailure  # parsed once, where the job was prepared
    constraints_uri: str | None
    output_uri: str
    start: datetime.datetime | None  # the analysis window; None for a Clarify job's dataset
    end: datetime.datetime | None
    source: Source
    model: ModelSpec
    model_label: str  # names the model in messages: the endpoint, or the model
    instance_count: int = 1
    environment: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)  # the metrics' Endpoint, MonitoringSchedule
    memory_mb: int = 1024
    publish_metrics: bool = True  # a monitoring execution's metrics (cloudwatch_metrics.jsonl)
    dask_scheduler: str | None = None  # where `instance_count` > 1 parts run; None: local processes
    model_user: tuple[int, int] | None = None  # (uid, gid) the model's code runs as (--worker-user), locally
    log_file: str | None = None  # the job's log stream (`serving.log_files`), written line by line as it runs
    clock_file: str | None = None  # the server's clock file, if it has one: the log's timestamps are its time


@dataclass(frozen=True)
class Outcome:
    """How a job's process ended: its execution status, ExitMessage, FailureReason, timings and row count, and
    what a monitoring execution found (its labels beside the baseline, its violations), which the server records."""

    status: ExecutionStatus  # Completed | CompletedWithViolations | Failed
    exit_message: str
    failure_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    labels: tuple[LabelResult, ...] = ()
    violations: tuple[dict[str, str], ...] = ()


class JobFailed(Exception):
    """Ends the execution Failed: `reason` for FailureReason, `detail` for ExitMessage and the log."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason, detail)  # both in args: the exception crosses process boundaries pickled
        self.reason, self.detail = reason, detail or reason
