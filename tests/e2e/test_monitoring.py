"""Monitoring end to end through boto3: a served model's captured traffic explained on schedule, with drift."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LogisticRegression

from clarimon.engine import explain
from clarimon.objects import LocalObjects
from tests.documents import minimal_definition
from tests.e2e.test_endpoints import X, csv, deploy_sklearn, fitted, runtime, wait_for  # noqa: F401 (fixture)
from tests.servers import Server

pytestmark = pytest.mark.e2e

FEATURES = [f"f{i}" for i in range(X.shape[1])]
TERMINAL = ("Completed", "CompletedWithViolations", "Failed", "Stopped")
CONFIG: dict[str, Any] = {
    "methods": {"shap": {"baseline": [np.round(X.mean(axis=0), 4).tolist()], "num_samples": 100,
                         "agg_method": "mean_abs", "use_logit": False, "save_local_shap_values": True, "seed": 5}},
    "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                  "content_type": "text/csv", "accept_type": "text/csv", "probability": 1},
    "headers": FEATURES,
}


class Clock:
    """The server's clock (its --clock-file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, text: str) -> None:
        self.path.write_text(text)


def serve(make_server: Any, tmp_path: Path, *extra: str) -> tuple[Server, Clock]:
    clock = Clock(tmp_path / "clock")
    clock.set("2026-11-25T06:30:00Z")
    server = make_server("--clock-file", str(clock.path), "--scheduler-seconds", "0.2", "--lease-seconds", "3",
                         "--capture-flush-seconds", "0.2", *extra)
    return server, clock


def prepare(server: Server, client: Any, tmp_path: Path, model: LogisticRegression, name: str) -> None:
    """Deploy the model with capture, write the analysis config and the baseline constraints."""
    deploy_sklearn(server, client, tmp_path, model, name)
    assert wait_for(client, name)["EndpointStatus"] == "InService"
    objects = LocalObjects(server.home / "s3")
    objects.write(f"s3://bucket/{name}/analysis_config.json", orjson.dumps(CONFIG))
    baseline = explain(CONFIG, X[:80], model.predict_proba).to_analysis_json()
    objects.write(f"s3://bucket/{name}/baseline/analysis.json", orjson.dumps(baseline))


def definition(name: str, endpoint: str, **changes: Any) -> dict[str, Any]:
    document = minimal_definition(name, endpoint)
    document["ModelExplainabilityAppSpecification"]["ConfigUri"] = f"s3://bucket/{endpoint}/analysis_config.json"
    document["ModelExplainabilityBaselineConfig"] = {
        "ConstraintsResource": {"S3Uri": f"s3://bucket/{endpoint}/baseline/analysis.json"}}
    document["ModelExplainabilityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] = "s3://bucket/mon"
    document.update(changes)
    return document


def schedule(client: Any, name: str, definition_name: str, expression: str, **window: str) -> None:
    config: dict[str, Any] = {"ScheduleExpression": expression}
    config.update(window)
    client.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": config, "MonitoringJobDefinitionName": definition_name,
        "MonitoringType": "ModelExplainability"})


def send(server: Server, region: str, endpoint: str, rows: np.ndarray) -> None:
    invoke = runtime(server, region).invoke_endpoint
    for row in rows:
        invoke(EndpointName=endpoint, Body=csv(row[None, :]), ContentType="text/csv", Accept="text/csv")
    time.sleep(0.8)  # the capture writer flushes every 0.2 s


def executions(client: Any, schedule_name: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    """The schedule's executions, oldest first, once `count` of them have ended."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.list_monitoring_executions(MonitoringScheduleName=schedule_name, SortBy="ScheduledTime",
                                                  SortOrder="Ascending")["MonitoringExecutionSummaries"]
        if len([e for e in found if e["MonitoringExecutionStatus"] in TERMINAL]) >= count:
            return list(found)
        if time.monotonic() > deadline:
            raise AssertionError(f"{schedule_name}: {found}")
        time.sleep(0.2)


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_schedules_explain_traffic_and_report_drift(make_server: Any, region: str, tmp_path: Path,
                                                    fitted: LogisticRegression) -> None:  # noqa: F811
    server, clock = serve(make_server, tmp_path)
    client = server.client(region)
    prepare(server, client, tmp_path, fitted, "churn")
    send(server, region, "churn", X[100:150])  # captured at 06:30, like the baseline
    client.create_model_explainability_job_definition(**definition("churn-def", "churn"))

    clock.set("2026-11-25T06:40:00Z")
    schedule(client, "churn-now", "churn-def", "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H")
    [now_run] = executions(client, "churn-now", 1)
    assert now_run["MonitoringExecutionStatus"] == "Completed", now_run
    assert now_run["ScheduledTime"] == utc("2026-11-25T06:40:00Z")
    assert (now_run["EndpointName"], now_run["MonitoringJobDefinitionName"]) == ("churn", "churn-def")

    schedule(client, "churn-hourly", "churn-def", "cron(0 * ? * * *)")
    clock.set("2026-11-25T07:20:00Z")  # 07:00 runs over 06:00-07:00: the normal traffic
    shifted = X[150:200].copy()
    top = np.argsort(-np.abs(fitted.coef_[0] * X.std(axis=0)))[:2]
    shifted[:, top] = np.round(X.mean(axis=0), 4)[top]  # the strongest features pinned: their attribution is gone
    send(server, region, "churn", shifted)  # captured at 07:20
    clock.set("2026-11-25T08:00:05Z")  # 08:00 runs over 07:00-08:00: the shifted traffic
    first, second = executions(client, "churn-hourly", 2)
    assert [first["ScheduledTime"], second["ScheduledTime"]] == [utc("2026-11-25T07:00:00Z"),
                                                                 utc("2026-11-25T08:00:00Z")]
    assert first["MonitoringExecutionStatus"] == "Completed", first
    assert second["MonitoringExecutionStatus"] == "CompletedWithViolations", second
    results = server.home / "s3" / "bucket" / "mon" / "churn" / "churn-hourly" / "2026" / "11" / "25"
    violations = orjson.loads((results / "08" / "constraint_violations.json").read_bytes())["violations"]
    assert violations[0]["constraint_check_type"] == "feature_attribution_drift_check"
    assert float(violations[0]["description"].split()[3]) < 0.9
    assert not (results / "07" / "constraint_violations.json").exists()
    for hour in ("07", "08"):
        assert {p.name for p in (results / hour).iterdir()} >= {"analysis.json", "report.html", "execution.log"}

    job = client.describe_processing_job(ProcessingJobName=second["ProcessingJobArn"].split("/")[-1])
    assert job["ProcessingJobStatus"] == "Completed"
    assert job["ExitMessage"] == "CompletedWithViolations: Job completed successfully with 1 violations."
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        "s3://bucket/mon/churn/churn-hourly/2026/11/25/08"
    assert job["MonitoringScheduleArn"].endswith(":monitoring-schedule/churn-hourly")
    assert job["Environment"]["start_time"] == "2026-11-25T07:00:00Z"
    assert "_run" not in job

    clock.set("2026-11-25T09:00:05Z")  # 09:00 runs over 08:00-09:00: nothing was sent
    *_, empty = executions(client, "churn-hourly", 3)
    assert (empty["MonitoringExecutionStatus"], empty["FailureReason"]) == ("Failed", "Job inputs had no data")
    described = client.describe_monitoring_schedule(MonitoringScheduleName="churn-hourly")
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["LastMonitoringExecutionSummary"]["ScheduledTime"] == utc("2026-11-25T09:00:00Z")
    assert described["EndpointName"] == "churn" and described["MonitoringType"] == "ModelExplainability"
    failed_job = client.describe_processing_job(ProcessingJobName=empty["ProcessingJobArn"].split("/")[-1])
    assert failed_job["ProcessingJobStatus"] == "Failed"
    assert "s3://bucket/data-capture/churn/" in failed_job["ExitMessage"]
    assert len(executions(client, "churn-now", 1)) == 1  # NOW ran once

    listed = client.list_monitoring_executions(EndpointName="churn", StatusEquals="Completed")
    assert len(listed["MonitoringExecutionSummaries"]) == 2
    with pytest.raises(ClientError) as caught:
        client.delete_model_explainability_job_definition(JobDefinitionName="churn-def")
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    client.stop_monitoring_schedule(MonitoringScheduleName="churn-hourly")
    clock.set("2026-11-25T11:00:05Z")
    time.sleep(1)
    assert len(executions(client, "churn-hourly", 3)) == 3  # stopped: 10:00 and 11:00 do not run
    client.delete_monitoring_schedule(MonitoringScheduleName="churn-hourly")
    client.delete_monitoring_schedule(MonitoringScheduleName="churn-now")
    client.delete_model_explainability_job_definition(JobDefinitionName="churn-def")
    assert len(executions(client, "churn-hourly", 3)) == 3  # the history stays
