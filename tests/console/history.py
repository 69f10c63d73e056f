"""A monitoring history written straight into a store (no jobs run): endpoints, schedules, and executions that
ended with recorded results (attributions beside a baseline, NDCG, violations) and evaluated alerts, as the
server records them. The console's browser tests and benchmarks/console.py read it."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from typing import Any

import orjson

from clarimon.control import alerts, arns, endpoints, job_definitions, monitoring_results, processing_jobs, schedules
from clarimon.control.context import Context
from clarimon.control.processing_jobs import MonitoringRun
from clarimon.control.states import EndpointStatus, ExecutionStatus, ProcessingJobStatus
from clarimon.engine import drift
from clarimon.store import executions, resources
from clarimon.store.results import Ending
from tests.documents import minimal_definition

HOUR = 3600.0
START = 1_795_590_000.0  # 2026-11-25T07:00:00Z
ROLE = "arn:aws:iam::000000000000:role/monitor"


@dataclass(frozen=True)
class Seeded:
    """What was written: the schedules' names, and each schedule's execution ids, oldest first."""

    schedules: list[str]
    executions: dict[str, list[int]]
    endpoint: str


def baseline(features: int) -> dict[str, Any]:
    """A baseline analysis.json whose attributions fall off with the feature's index."""
    values = {f"feature_{j:02d}": round(0.8 / (j + 1), 6) for j in range(features)}
    return {"version": "1.0", "explanations": {"kernel_shap": {"label0": {"global_shap_values": values,
                                                                          "expected_value": 0.37}}}}


def live(reference: dict[str, Any], hour: int, rng: random.Random) -> dict[str, Any]:
    """An execution's analysis.json: the baseline with noise, and every seventh hour the ranking turned over."""
    values = reference["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    names = list(values)
    drifted = hour % 7 == 6
    found = {}
    for j, name in enumerate(names):
        source = values[names[len(names) - 1 - j]] if drifted else values[name]
        found[name] = round(source * (1 + 0.15 * math.sin(hour / 5 + j)) * rng.uniform(0.95, 1.05), 6)
    return {"version": "1.0", "explanations": {"kernel_shap": {"label0": {
        "global_shap_values": found, "expected_value": round(0.37 + 0.01 * math.sin(hour), 6)}}}}


def fill(ctx: Context, *, schedules_count: int, executions_count: int, features: int, endpoint: str = "churn",
         outputs: bool = False, seed: int = 7) -> Seeded:
    """Write an endpoint with data capture, `schedules_count` hourly schedules on it and `executions_count` ended
    executions each (every 11th Failed for lack of data, a turned-over ranking every 7th hour), through the store.
    `outputs`: also write the latest execution's output files (analysis.json, execution.log) to the objects."""
    rng = random.Random(seed)
    reference = baseline(features)
    # Everything is made a day before the first execution, as a real history would be.
    now = START - 24 * HOUR
    services = dataclasses.replace(ctx.services, clock=lambda: now)
    ctx = Context(ctx.account, ctx.region, services)
    _endpoint(ctx, endpoint, now)
    baseline_uri = "s3://bucket/baseline/analysis.json"
    services.objects.write(baseline_uri, orjson.dumps(reference))
    found: dict[str, list[int]] = {}
    names = [f"monitor-{i:02d}" for i in range(schedules_count)]
    for index, name in enumerate(names):
        definition = minimal_definition(f"def-{index:02d}", endpoint)
        definition["ModelExplainabilityBaselineConfig"] = {"ConstraintsResource": {"S3Uri": baseline_uri}}
        job_definitions.create(ctx, definition)
        schedules.create(ctx, {"MonitoringScheduleName": name, "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringJobDefinitionName": f"def-{index:02d}", "MonitoringType": "ModelExplainability"}})
        if index == 0:
            alerts.update(ctx, {"MonitoringScheduleName": name, "MonitoringAlertName": alerts.ALERT_NAME,
                                "DatapointsToAlert": 1, "EvaluationPeriod": 3})
        found[name] = _executions(ctx, name, endpoint, executions_count, reference, rng, outputs)
    return Seeded(names, found, endpoint)


def _endpoint(ctx: Context, name: str, now: float) -> None:
    config_name = f"{name}-config"
    config = {"EndpointConfigName": config_name, "ProductionVariants": [
        {"VariantName": "AllTraffic", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}],
        "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 100,
                              "DestinationS3Uri": "s3://bucket/capture",
                              "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                              "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}}
    with ctx.store.transaction() as conn:
        resources.insert(conn, kind="endpoint-config", account=ctx.account, region=ctx.region, name=config_name,
                         arn=arns.arn(ctx, "endpoint-config", config_name), now=now, document=config, tags=[])
        # Failed, with its reason: a seeded endpoint has no model to load, and a server only redeploys the others.
        resources.insert(conn, kind=endpoints.KIND, account=ctx.account, region=ctx.region, name=name,
                         arn=arns.arn(ctx, endpoints.KIND, name), now=now, endpoint_name=name,
                         status=EndpointStatus.FAILED, tags=[],
                         document={"EndpointName": name, "EndpointConfigName": config_name,
                                   "FailureReason": "Seeded history: no model was deployed."})


def _executions(ctx: Context, schedule: str, endpoint: str, count: int, reference: dict[str, Any],
                rng: random.Random, outputs: bool) -> list[int]:
    ids = []
    with ctx.store.transaction() as conn:
        for hour in range(count):
            scheduled = START + hour * HOUR
            job = f"model-monitoring-{schedule}-{hour:05d}"
            arn = arns.arn(ctx, processing_jobs.KIND, job)
            output = f"s3://bucket/out/{endpoint}/{schedule}/{hour:05d}"
            run = MonitoringRun(config_uri="s3://bucket/config.json", constraints_uri="s3://bucket/baseline.json",
                                output_uri=output, start=scheduled - HOUR, end=scheduled, endpoint=endpoint,
                                data_uri=None, input={}, schedule=schedule)
            failed = hour % 11 == 10
            analysis = live(reference, hour, rng)
            violations = [] if failed else drift.violations(reference, analysis)
            status = (ExecutionStatus.FAILED if failed else ExecutionStatus.COMPLETED_WITH_VIOLATIONS if violations
                      else ExecutionStatus.COMPLETED)
            ended = scheduled + 40.0
            resources.insert(conn, kind=processing_jobs.KIND, account=ctx.account, region=ctx.region, name=job,
                             arn=arn, now=scheduled, tags=[],
                             status=ProcessingJobStatus.FAILED if failed else ProcessingJobStatus.COMPLETED,
                             document={"ProcessingJobName": job, processing_jobs.RUN: run.stored(),
                                       "ProcessingStartTime": scheduled + 5.0, "ProcessingEndTime": ended,
                                       "ExitMessage": "Job inputs had no data" if failed else status})
            executions.insert(conn, account=ctx.account, region=ctx.region, schedule_name=schedule,
                              scheduled_time=scheduled, now=scheduled, status=status, endpoint_name=endpoint,
                              job_definition_name=None, monitoring_type="ModelExplainability",
                              processing_job_arn=arn, failure_reason="Job inputs had no data" if failed else None)
            execution = executions.by_job(conn, arn)
            assert execution is not None
            labels = () if failed else tuple(drift.compare(analysis, reference))
            ending = Ending(start_time=scheduled + 5.0, end_time=ended, output_uri=output,
                                               publish_metrics=True, violations=violations, labels=labels)
            monitoring_results.record(conn, execution, status, ending)
            ids.append(execution.id)
            if outputs and hour == count - 1:
                ctx.services.objects.write(f"{output}/analysis.json", orjson.dumps(analysis))
                ctx.services.objects.write(f"{output}/execution.log", f"job={job} rows=120\n{status}\n".encode())
    return ids
