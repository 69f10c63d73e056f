"""Monitoring end to end through boto3: a served model's captured traffic explained on schedule, with drift."""

from __future__ import annotations

import datetime
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LogisticRegression

from clarimon.clock import set_file_time
from clarimon.engine import explain
from clarimon.objects import LocalObjects
from tests.documents import PROBABILITY_ENTRY_POINT, minimal_definition
from tests.e2e.test_endpoints import X, csv, deploy_sklearn, fitted, runtime, wait_for  # noqa: F401 (fixture)
from tests.e2e.test_job_definitions import error_of
from tests.servers import Server, dask_cluster, eventually, scrape

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
# The endpoint's traffic (one row per request) is served at once; the explainer's batches take two minutes.
SLOW_ENTRY_POINT = PROBABILITY_ENTRY_POINT + textwrap.dedent('''
    import time


    def predict_fn(data, model):
        if len(data) > 1:
            time.sleep(120)
        return model.predict_proba(data)
''')


class Clock:
    """The server's clock (its --clock-file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, text: str) -> None:
        set_file_time(self.path, text)


def serve(make_server: Any, tmp_path: Path, *extra: str) -> tuple[Server, Clock]:
    clock = Clock(tmp_path / "clock")
    clock.set("2026-11-25T06:30:00Z")
    server = make_server("--clock-file", str(clock.path), "--scheduler-seconds", "0.2", "--lease-seconds", "3",
                         "--capture-flush-seconds", "0.2", *extra)
    return server, clock


def prepare(server: Server, client: Any, tmp_path: Path, model: LogisticRegression, name: str,
            entry_point: str = PROBABILITY_ENTRY_POINT) -> None:
    """Deploy the model with capture, write the analysis config and the baseline constraints."""
    deploy_sklearn(server, client, tmp_path, model, name, entry_point)
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


def captured(server: Server, endpoint: str) -> int:
    """How many records the endpoint's capture files hold."""
    objects = LocalObjects(server.home / "s3")
    return sum(objects.read(uri).count(b"\n") for uri in objects.list(f"s3://bucket/data-capture/{endpoint}/"))


def send(server: Server, region: str, endpoint: str, rows: np.ndarray) -> None:
    """One request per row; returns once the capture writer has written them all."""
    invoke = runtime(server, region).invoke_endpoint
    before = captured(server, endpoint)
    for row in rows:
        invoke(EndpointName=endpoint, Body=csv(row[None, :]), ContentType="text/csv", Accept="text/csv")
    eventually(lambda: captured(server, endpoint) >= before + len(rows), 30,
               lambda: f"{endpoint}: captured {captured(server, endpoint) - before} of {len(rows)}", interval=0.05)


def executions(client: Any, schedule_name: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    """The schedule's executions, oldest first, once `count` of them have ended."""

    def listed() -> list[dict[str, Any]]:
        return list(client.list_monitoring_executions(MonitoringScheduleName=schedule_name, SortBy="ScheduledTime",
                                                      SortOrder="Ascending")["MonitoringExecutionSummaries"])

    def ended() -> list[dict[str, Any]] | None:
        found = listed()
        return found if len([e for e in found if e["MonitoringExecutionStatus"] in TERMINAL]) >= count else None

    return eventually(ended, timeout, lambda: f"{schedule_name}: {listed()}")


def in_progress(client: Any, schedule_name: str, timeout: float = 60) -> dict[str, Any]:
    """The schedule's first execution, once it runs."""

    def running() -> dict[str, Any] | None:
        found = client.list_monitoring_executions(MonitoringScheduleName=schedule_name)["MonitoringExecutionSummaries"]
        if found and found[0]["MonitoringExecutionStatus"] == "InProgress":
            return dict(found[0])
        assert not found or found[0]["MonitoringExecutionStatus"] == "Pending", found
        return None

    return eventually(running, timeout, lambda: f"{schedule_name} did not start", interval=0.1)


def job_name(execution: dict[str, Any]) -> str:
    return str(execution["ProcessingJobArn"].split("/")[-1])


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_metrics(server: Server, region: str) -> None:
    """After churn-now (Completed) and churn-hourly's 07:00 (Completed) and 08:00 (drifted) runs."""
    families = scrape(server)
    ndcg = {s.labels["MonitoringSchedule"]: s.value for s in families["clarimon_monitoring_ndcg"]
            if s.labels["region"] == region}
    threshold = {s.labels["MonitoringSchedule"]: s.value for s in families["clarimon_monitoring_ndcg_threshold"]
                 if s.labels["region"] == region}
    assert threshold == {"churn-now": 0.9, "churn-hourly": 0.9}
    assert ndcg["churn-hourly"] < threshold["churn-hourly"] <= ndcg["churn-now"]  # the latest hourly one drifted
    shap = [s for name, samples in families.items() if name.startswith("feature_") for s in samples
            if s.labels["region"] == region and s.labels["MonitoringSchedule"] == "churn-hourly"]
    assert {s.labels["FeatureName"] for s in shap} == set(FEATURES)
    assert {(s.labels["Endpoint"], s.labels["ExplainabilityMethod"], s.labels["Label"], s.labels["ValueType"])
            for s in shap} == {("churn", "KernelShap", "label0", "GlobalShapValues")}
    [expected] = [s for s in families["ExpectedValue"] if s.labels["region"] == region
                  and s.labels["MonitoringSchedule"] == "churn-hourly"]
    assert expected.labels["ValueType"] == "ExpectedValue" and 0 < expected.value < 1
    counts = {(s.labels["MonitoringSchedule"], s.labels["status"]): s.value
              for s in families["clarimon_monitoring_executions"] if s.labels["region"] == region}
    assert counts == {("churn-now", "Completed"): 1, ("churn-hourly", "Completed"): 1,
                      ("churn-hourly", "CompletedWithViolations"): 1}
    alerts = {s.labels["MonitoringSchedule"]: s.value for s in families["clarimon_monitoring_alert_in_alert"]
              if s.labels["region"] == region}
    assert alerts == {"churn-now": 0.0, "churn-hourly": 1.0}
    [duration] = [s for s in families["clarimon_monitoring_last_execution_duration_seconds"]
                  if s.labels["region"] == region and s.labels["MonitoringSchedule"] == "churn-hourly"]
    assert duration.value == 0  # ProcessingEndTime - ProcessingStartTime on the server's clock, which the file holds
    [scheduled] = [s for s in families["clarimon_monitoring_last_execution_scheduled_time_seconds"]
                   if s.labels["region"] == region and s.labels["MonitoringSchedule"] == "churn-hourly"]
    assert scheduled.value == utc("2026-11-25T08:00:00Z").timestamp()
    # the endpoint's 100 requests, each captured, with latency histograms; the API's requests by operation
    endpoint = {"region": region, "EndpointName": "churn", "VariantName": "AllTraffic"}

    def value(family: str, suffix: str = "_total", **labels: str) -> float:
        return sum(s.value for s in families[family] if s.name == family + suffix
                   and {**endpoint, **labels}.items() <= s.labels.items())

    assert value("clarimon_endpoint_invocations") == 100
    assert value("clarimon_endpoint_captured_records") == 100
    assert value("clarimon_endpoint_invocation_4xx_errors") == value("clarimon_endpoint_invocation_5xx_errors") == 0
    assert value("clarimon_endpoint_model_latency_seconds", "_count") == 100
    assert value("clarimon_endpoint_overhead_latency_seconds", "_bucket", le="+Inf") == 100
    requests = {s.labels["operation"]: s.value for s in families["clarimon_api_requests"]
                if s.name == "clarimon_api_requests_total" and s.labels["code"] == ""}
    assert requests["InvokeEndpoint"] >= 100 and requests["CreateMonitoringSchedule"] >= 2


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
    executions(client, "churn-hourly", 1)
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

    check_metrics(server, region)

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

    # The schedule's alert (default rule: 1 failure of the latest 1) went InAlert at 08:00 and stayed there at
    # 09:00 (a Failed execution fails too); a rule of 3 failures of the latest 3 clears it at once.
    [alert] = client.list_monitoring_alerts(MonitoringScheduleName="churn-hourly")["MonitoringAlertSummaries"]
    assert (alert["AlertStatus"], alert["DatapointsToAlert"], alert["EvaluationPeriod"]) == ("InAlert", 1, 1)
    [raised] = client.list_monitoring_alert_history(MonitoringScheduleName="churn-hourly")["MonitoringAlertHistory"]
    assert (raised["AlertStatus"], raised["MonitoringAlertName"]) == ("InAlert", alert["MonitoringAlertName"])
    client.update_monitoring_alert(MonitoringScheduleName="churn-hourly",
                                   MonitoringAlertName=alert["MonitoringAlertName"], DatapointsToAlert=3,
                                   EvaluationPeriod=3)
    [alert] = client.list_monitoring_alerts(MonitoringScheduleName="churn-hourly")["MonitoringAlertSummaries"]
    assert (alert["AlertStatus"], alert["DatapointsToAlert"], alert["EvaluationPeriod"]) == ("OK", 3, 3)
    page = client.list_monitoring_alert_history(MaxResults=1, SortOrder="Ascending")
    assert [h["AlertStatus"] for h in page["MonitoringAlertHistory"]] == ["InAlert"]
    rest = client.list_monitoring_alert_history(MaxResults=1, SortOrder="Ascending", NextToken=page["NextToken"])
    assert [(h["AlertStatus"], h["MonitoringScheduleName"]) for h in rest["MonitoringAlertHistory"]] == [
        ("OK", "churn-hourly")]
    assert client.list_monitoring_alert_history(StatusEquals="OK")["MonitoringAlertHistory"] == \
        rest["MonitoringAlertHistory"]
    [now_alert] = client.list_monitoring_alerts(MonitoringScheduleName="churn-now")["MonitoringAlertSummaries"]
    assert now_alert["AlertStatus"] == "OK"
    assert error_of(client.list_monitoring_alert_history, MonitoringScheduleName="churn-hourly",
                    MonitoringAlertName="nope") == (
        "ResourceNotFound", "Could not find monitoring alert nope of monitoring schedule churn-hourly.", 400)
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


def slow_endpoint(make_server: Any, region: str, tmp_path: Path, model: LogisticRegression,
                  *extra: str) -> tuple[Server, Clock, Any]:
    """A server whose endpoint "slow" takes two minutes on the explainer's batches, with traffic at 06:30."""
    server, clock = serve(make_server, tmp_path, *extra)
    client = server.client(region)
    prepare(server, client, tmp_path, model, "slow", SLOW_ENTRY_POINT)
    send(server, region, "slow", X[100:120])
    return server, clock, client


def test_runtime_limit_and_stop_requests_end_jobs_stopped(make_server: Any, region: str, tmp_path: Path,
                                                          fitted: LogisticRegression) -> None:  # noqa: F811
    server, clock, client = slow_endpoint(make_server, region, tmp_path, fitted, "--job-workers", "3")
    client.create_model_explainability_job_definition(**definition(
        "limited", "slow", StoppingCondition={"MaxRuntimeInSeconds": 3}))
    client.create_model_explainability_job_definition(**definition("unlimited", "slow"))
    clock.set("2026-11-25T06:40:00Z")
    window = {"DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT0H"}
    schedule(client, "limited-now", "limited", "NOW", **window)
    schedule(client, "stopped-now", "unlimited", "NOW", **window)
    schedule(client, "deleted-now", "unlimited", "NOW", **window)

    running = in_progress(client, "stopped-now")
    client.stop_processing_job(ProcessingJobName=job_name(running))
    status = client.describe_processing_job(ProcessingJobName=job_name(running))["ProcessingJobStatus"]
    assert status in ("Stopping", "Stopped")
    [stopped] = executions(client, "stopped-now", 1)
    assert stopped["MonitoringExecutionStatus"] == "Stopped", stopped
    job = client.describe_processing_job(ProcessingJobName=job_name(stopped))
    assert job["ProcessingJobStatus"] == "Stopped" and job["ExitMessage"].startswith("Stopped on request after")
    assert job["ProcessingEndTime"] >= job["ProcessingStartTime"]
    assert error_of(client.stop_processing_job, ProcessingJobName=job_name(stopped))[0] == "ValidationException"

    in_progress(client, "deleted-now")
    client.delete_monitoring_schedule(MonitoringScheduleName="deleted-now")  # its running execution stops
    [deleted] = executions(client, "deleted-now", 1)
    assert deleted["MonitoringExecutionStatus"] == "Stopped", deleted

    [limited] = executions(client, "limited-now", 1)
    assert limited["MonitoringExecutionStatus"] == "Stopped", limited
    job = client.describe_processing_job(ProcessingJobName=job_name(limited))
    assert job["ProcessingJobStatus"] == "Stopped"
    assert job["ExitMessage"].startswith("MaxRuntimeExceeded: the job ran past StoppingCondition.MaxRuntimeInSeconds")
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3}
    assert (job["ProcessingEndTime"] - job["ProcessingStartTime"]).total_seconds() < 60  # not the model's 120 s


def test_restart_fails_cut_off_jobs_and_marks_missed_times(make_server: Any, region: str, tmp_path: Path,
                                                           fitted: LogisticRegression) -> None:  # noqa: F811
    # Leases outlive the test: the restarted server ends the cut-off job because its old process is gone.
    server, clock, client = slow_endpoint(make_server, region, tmp_path, fitted, "--lease-seconds", "600")
    client.create_model_explainability_job_definition(**definition("slow-def", "slow"))
    clock.set("2026-11-25T06:40:00Z")
    schedule(client, "cut-now", "slow-def", "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H")
    schedule(client, "hourly", "slow-def", "cron(0 * ? * * *)")
    running = in_progress(client, "cut-now")

    server.kill()  # mid-execution, as in a crash
    clock.set("2026-11-25T09:30:00Z")  # down from 06:40 to 09:30: 07:00, 08:00 and 09:00 pass unseen
    server.start()
    client = server.client(region)
    [cut] = executions(client, "cut-now", 1, timeout=30)
    assert cut["ProcessingJobArn"] == running["ProcessingJobArn"]
    assert cut["MonitoringExecutionStatus"] == "Failed", cut
    assert "The server running this job stopped before the job finished" in cut["FailureReason"]
    job = client.describe_processing_job(ProcessingJobName=job_name(cut))
    assert (job["ProcessingJobStatus"], job["FailureReason"]) == ("Failed", cut["FailureReason"])

    hourly = executions(client, "hourly", 3)
    assert [e["ScheduledTime"] for e in hourly] == [utc(f"2026-11-25T0{h}:00:00Z") for h in (7, 8, 9)]
    assert [e["MonitoringExecutionStatus"] for e in hourly] == ["Failed"] * 3
    assert hourly[0]["FailureReason"].startswith("Missed: clarimon was not running at the scheduled time "
                                                 "2026-11-25T07:00:00Z")
    assert "ProcessingJobArn" not in hourly[0] and "ProcessingJobArn" not in hourly[1]
    assert hourly[2]["FailureReason"] == "Job inputs had no data"  # 09:00 ran, over 08:00-09:00
    assert len(executions(client, "cut-now", 1)) == 1  # NOW does not run again after the restart


def test_two_servers_on_one_database_run_each_time_once(make_server: Any, region: str, tmp_path: Path,
                                                        fitted: LogisticRegression) -> None:  # noqa: F811
    server, clock = serve(make_server, tmp_path, "--scheduler-seconds", "0.05")
    other = make_server(*server.extra_args, share=server)
    client = server.client(region)
    prepare(server, client, tmp_path, fitted, "churn")
    send(server, region, "churn", X[100:150])  # captured at 06:30
    client.create_model_explainability_job_definition(**definition("churn-def", "churn"))
    for name in ("hourly", "hourly-too"):
        schedule(client, name, "churn-def", "cron(0 * ? * * *)")
    for hour in (7, 8, 9):
        clock.set(f"2026-11-25T0{hour}:00:01Z")
        executions(client, "hourly", hour - 6)
        executions(client, "hourly-too", hour - 6)

    found = [e for name in ("hourly", "hourly-too") for e in executions(other.client(region), name, 3)]
    assert [e["ScheduledTime"].hour for e in found] == [7, 8, 9] * 2
    assert [e["MonitoringExecutionStatus"] for e in found] == ["Completed", "Failed", "Failed"] * 2
    listed = client.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]
    assert sorted(j["ProcessingJobArn"] for j in listed) == sorted(e["ProcessingJobArn"] for e in found)
    completed = client.list_processing_jobs(StatusEquals="Completed", SortBy="Name", SortOrder="Ascending")
    assert [j["ProcessingJobName"] for j in completed["ProcessingJobSummaries"]] == sorted(
        job_name(e) for e in found if e["MonitoringExecutionStatus"] == "Completed")
    assert all(j["ProcessingJobName"].startswith("model-monitoring-202611250") for j in listed)

    def pages(**filters: Any) -> list[dict[str, Any]]:
        """Every execution the list returns, one per page (the tokens carry the filters)."""
        found: list[dict[str, Any]] = []
        token: dict[str, str] = {}
        while True:
            page = client.list_monitoring_executions(MaxResults=1, **filters, **token)
            found += page["MonitoringExecutionSummaries"]
            if "NextToken" not in page:
                return found
            token = {"NextToken": page["NextToken"]}

    assert len(pages()) == 6
    after = pages(ScheduledTimeAfter=utc("2026-11-25T07:30:00Z"), SortBy="ScheduledTime", SortOrder="Ascending")
    assert [e["ScheduledTime"].hour for e in after] == [8, 8, 9, 9]
    by_status = pages(SortBy="Status", SortOrder="Ascending")
    assert [e["MonitoringExecutionStatus"] for e in by_status] == ["Completed"] * 2 + ["Failed"] * 4
    assert len(pages(MonitoringJobDefinitionName="churn-def", MonitoringTypeEquals="ModelExplainability")) == 6
    assert pages(MonitoringTypeEquals="DataQuality") == []
    assert len(pages(MonitoringScheduleName="hourly", ScheduledTimeBefore=utc("2026-11-25T08:30:00Z"))) == 2


def test_instance_count_splits_a_job_across_a_dask_cluster(make_server: Any, region: str, tmp_path: Path,
                                                           fitted: LogisticRegression) -> None:  # noqa: F811
    with dask_cluster(workers=2) as address:
        server, clock = serve(make_server, tmp_path, "--dask-scheduler", address)
        client = server.client(region)
        prepare(server, client, tmp_path, fitted, "churn")
        send(server, region, "churn", X[100:160])
        resources = {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}
        client.create_model_explainability_job_definition(**definition("one-def", "churn"))
        client.create_model_explainability_job_definition(**definition("two-def", "churn", JobResources=resources))
        clock.set("2026-11-25T06:40:00Z")
        window = {"DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT0H"}
        schedule(client, "one-now", "one-def", "NOW", **window)
        schedule(client, "two-now", "two-def", "NOW", **window)
        [one] = executions(client, "one-now", 1)
        [two] = executions(client, "two-now", 1)
    assert one["MonitoringExecutionStatus"] == two["MonitoringExecutionStatus"] == "Completed", (one, two)
    results = server.home / "s3" / "bucket" / "mon" / "churn"
    log = (results / "two-now" / "2026" / "11" / "25" / "06" / "execution.log").read_text()
    assert "instances=2" in log
    values = [orjson.loads((results / name / "2026" / "11" / "25" / "06" / "analysis.json").read_bytes())
              ["explanations"]["kernel_shap"]["label0"]["global_shap_values"] for name in ("one-now", "two-now")]
    assert list(values[0]) == list(values[1])
    np.testing.assert_allclose(list(values[0].values()), list(values[1].values()), rtol=1e-10)


def test_a_budget_below_the_features_still_completes_and_says_so(make_server: Any, region: str,
                                                                 tmp_path: Path) -> None:
    """The sagemaker SDK's own integration test: 7 features, num_samples=5 (issue 11: it used to fail with
    'expected square matrix', blamed on the endpoint's model)."""
    from sklearn.datasets import load_breast_cancer

    rows, labels = load_breast_cancer(return_X_y=True)
    rows = rows[:, :7]
    model = LogisticRegression(max_iter=5000).fit(rows, labels)
    server, clock = serve(make_server, tmp_path)
    client = server.client(region)
    deploy_sklearn(server, client, tmp_path, model, "small")
    assert wait_for(client, "small")["EndpointStatus"] == "InService"
    headers = [f"f{i}" for i in range(7)]
    config = {**CONFIG, "headers": headers, "methods": {"shap": {
        **CONFIG["methods"]["shap"], "baseline": [np.round(rows.mean(axis=0), 4).tolist()], "num_samples": 5}}}
    objects = LocalObjects(server.home / "s3")
    objects.write("s3://bucket/small/analysis_config.json", orjson.dumps(config))
    baseline = explain(config, rows[:80], model.predict_proba)
    assert baseline.warnings and "num_samples 5 is below the 12 coalitions" in baseline.warnings[0]
    objects.write("s3://bucket/small/baseline/analysis.json", orjson.dumps(baseline.to_analysis_json()))
    send(server, region, "small", rows[100:120])
    client.create_model_explainability_job_definition(**definition("small-def", "small"))
    clock.set("2026-11-25T06:40:00Z")
    schedule(client, "small-now", "small-def", "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H")
    [run] = executions(client, "small-now", 1)
    assert run["MonitoringExecutionStatus"] in ("Completed", "CompletedWithViolations"), run
    [folder] = (server.home / "s3" / "bucket" / "mon" / "small" / "small-now").glob("*/*/*/*")
    analysis = orjson.loads((folder / "analysis.json").read_bytes())
    values = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(values) == headers and all(0 <= v <= 1 for v in values.values())  # probabilities move by <= 1
    assert analysis["parameters"]["num_samples"] == 5
    assert "determined solve" in analysis["parameters"]["warnings"][0]
    assert "warning: num_samples 5 is below" in (folder / "execution.log").read_text()
