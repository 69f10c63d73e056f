"""`clarimon demo`: the whole product in a minute, on embedded defaults, through the SageMaker API.

It starts `clarimon serve` on a free loopback port with a new home folder (SQLite, a local folder for s3://) and a
credentials file of its own there (signatures verified, as a real deployment should run),
trains a classifier on a dataset scikit-learn ships, deploys it with data capture, baselines it with a Clarify
processing job, schedules hourly explainability monitoring, sends normal traffic, then traffic whose strongest
features are stuck, and prints what the two executions found. The server reads its time from a clock file that
the demo moves forward, so that two hourly runs happen in seconds. The home folder stays for inspection.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import joblib
import numpy as np
import orjson
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clarimon.clock import set_file_time
from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from clarimon.timestamps import iso

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/clarimon-demo"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CLARIFY_IMAGE = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
ACCESS_KEY = "AKIDCLARIMONDEMO"
FEATURES = 10  # the first ten of the dataset's thirty ("mean radius" ... "mean fractal dimension")
ENTRY_POINT = """import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    return model.predict_proba(data)
"""
TERMINAL = ("Completed", "CompletedWithViolations", "Failed", "Stopped")


class DemoFailed(RuntimeError):
    """A step of the demo did not turn out as it should; the message says which."""


def run(home: Path | None, keep_serving: bool = False) -> int:
    """`clarimon demo`: serve in a new home folder, deploy, baseline, monitor, drift; returns the exit status.
    `keep_serving`: afterwards the server stays up, its console's URL printed, until Ctrl-C or SIGTERM."""
    home = (home or Path(f"clarimon-demo-{datetime.datetime.now():%Y%m%d-%H%M%S}")).resolve()
    if home.exists() and any(home.iterdir()):
        print(f"clarimon demo: {home} is not empty; give a new --home", file=sys.stderr)
        return 2
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    server = _Server(home)
    try:
        server.start()
        _demo(server, home)
        if keep_serving:
            return _keep_serving(server, started)
    except DemoFailed as error:
        print(f"\nclarimon demo: {error}\n(the server's log: {home / 'server.log'})", file=sys.stderr)
        return 1
    finally:
        server.stop()
    print(f"\nDone in {time.monotonic() - started:.0f} s. Everything stays in {home}: serve it again with\n"
          f"  clarimon serve --home {home} --credentials {server.credentials}\nand list what the demo made with boto3 "
          f"(endpoint_url http://127.0.0.1:8080, the key {ACCESS_KEY} and its secret in that file), e.g. "
          "list_monitoring_executions().")
    return 0


def _keep_serving(server: _Server, started: float) -> int:
    """Leave the demo's server up, saying where its console is and how to sign in, until Ctrl-C or SIGTERM."""
    print(f"\nDone in {time.monotonic() - started:.0f} s. The server stays up: open its console at\n"
          f"  {server.url}/console/\nand sign in with the access key id {ACCESS_KEY} and the secret {server.secret}\n"
          f"(both in {server.credentials}). Ctrl-C stops the server; everything stays in {server.home}.", flush=True)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nclarimon demo: stopping the server", flush=True)
        return 0
    print(f"\nclarimon demo: the server stopped by itself (its log: {server.home / 'server.log'})", file=sys.stderr)
    return 1


class _Server:
    """`clarimon serve` in a subprocess on a free loopback port, its clock in a file the demo moves."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.clock = home / "clock"
        self.credentials = home / "credentials.json"
        self.secret = secrets.token_urlsafe(24)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        descriptor = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({ACCESS_KEY: {"secret": self.secret, "account": "000000000000"}}, file)
        log = open(self.home / "server.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clarimon", "serve", "--home", str(self.home), "--port", str(self.port),
             "--credentials", str(self.credentials), "--clock-file", str(self.clock), "--scheduler-seconds", "0.5",
             "--capture-flush-seconds", "0.5"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoFailed(f"clarimon serve exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/ping", timeout=1).close()
                print(f"clarimon serves {self.url} with its home in {self.home}")
                return
            except OSError:
                time.sleep(0.1)
        raise DemoFailed("clarimon serve did not answer within 60 s")

    def set_time(self, moment: datetime.datetime) -> None:
        set_file_time(self.clock, iso(moment))

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=self.secret,
                            config=botocore.config.Config(retries={"max_attempts": 2}))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@dataclass(frozen=True)
class _Scene:
    """What the demo's steps share: the server, its object store and clients, the data and the first hour."""

    server: _Server
    home: Path
    objects: LocalObjects
    sm: Any
    runtime: Any
    features: list[str]
    x: np.ndarray
    y: np.ndarray
    hour: datetime.datetime


def _demo(server: _Server, home: Path) -> None:
    data = load_breast_cancer()
    hour = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    scene = _Scene(server, home, LocalObjects(home / "s3"), server.client("sagemaker"),
                   server.client("sagemaker-runtime"), [str(name) for name in data.feature_names[:FEATURES]],
                   data.data[:, :FEATURES], data.target, hour)
    server.set_time(hour + datetime.timedelta(minutes=10))
    _deploy(scene)
    baseline_row, shap, baseline = _baseline(scene)
    _monitor(scene, shap)
    _report(scene, _traffic(scene, baseline, baseline_row))


def _deploy(scene: _Scene) -> None:
    home, objects, sm, x, y = scene.home, scene.objects, scene.sm, scene.x, scene.y
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x[:400], y[:400])
    _step("1. Train a logistic regression on scikit-learn's breast cancer data (10 features) and deploy it")
    joblib.dump(model, home / "model.joblib")
    (home / "inference.py").write_text(ENTRY_POINT)
    objects.write("s3://demo/models/cancer/model.tar.gz",
                  package(home / "model.joblib", "sklearn", home / "inference.py"))
    sm.create_model(ModelName="cancer", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://demo/models/cancer/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}})
    sm.create_endpoint_config(EndpointConfigName="cancer", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "cancer", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": "s3://demo/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                           "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}})
    sm.create_endpoint(EndpointName="cancer", EndpointConfigName="cancer")
    _wait(lambda: sm.describe_endpoint(EndpointName="cancer")["EndpointStatus"] != "Creating", "the endpoint")
    print(f"   endpoint cancer: {sm.describe_endpoint(EndpointName='cancer')['EndpointStatus']}")



def _baseline(scene: _Scene) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    objects, sm, features, x, y = scene.objects, scene.sm, scene.features, scene.x, scene.y
    _step("2. Baseline: a Clarify processing job explains the training data (analysis.json = the constraints)")
    baseline_row = np.round(x[:400].mean(axis=0), 4)
    shap = {"baseline": [baseline_row.tolist()], "num_samples": 500, "agg_method": "mean_abs",
            "save_local_shap_values": True, "seed": 7}
    objects.write("s3://demo/baseline/analysis_config.json", orjson.dumps({
        "dataset_type": "text/csv", "headers": ["diagnosis", *features], "label": "diagnosis",
        "methods": {"shap": shap}, "predictor": {"model_name": "cancer", "probability": 1}}))
    objects.write("s3://demo/baseline/data/train.csv", _csv(np.column_stack([y[:400], x[:400]])))
    sm.create_processing_job(
        ProcessingJobName="cancer-baseline", RoleArn=ROLE, AppSpecification={"ImageUri": CLARIFY_IMAGE},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                               "VolumeSizeInGB": 20}},
        ProcessingInputs=[_input("analysis_config", "s3://demo/baseline/analysis_config.json",
                                 "/opt/ml/processing/input/config"),
                          _input("dataset", "s3://demo/baseline/data/", "/opt/ml/processing/input/data")],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "analysis_result", "S3Output": {
            "S3Uri": "s3://demo/baseline/output", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]})
    job = _wait(lambda: _ended(sm.describe_processing_job(ProcessingJobName="cancer-baseline"),
                               "ProcessingJobStatus"), "the baselining job")
    if job["ProcessingJobStatus"] != "Completed":
        raise DemoFailed(f"the baselining job ended {job['ProcessingJobStatus']}: {job.get('FailureReason')}")
    baseline = orjson.loads(objects.read("s3://demo/baseline/output/analysis.json"))
    print(f"   top attributions: {_top(baseline)}")
    return baseline_row, shap, baseline


def _monitor(scene: _Scene, shap: dict[str, Any]) -> None:
    objects, sm, features = scene.objects, scene.sm, scene.features
    _step("3. Monitor: a job definition and an hourly schedule over the endpoint's captured traffic")
    objects.write("s3://demo/monitor/analysis_config.json", orjson.dumps({
        "headers": features, "methods": {"shap": shap}, "predictor": {"model_name": "cancer", "probability": 1,
                                                                       "content_type": "text/csv"}}))
    sm.create_model_explainability_job_definition(
        JobDefinitionName="cancer-explainability", RoleArn=ROLE,
        ModelExplainabilityAppSpecification={"ImageUri": CLARIFY_IMAGE,
                                             "ConfigUri": "s3://demo/monitor/analysis_config.json"},
        ModelExplainabilityBaselineConfig={"BaseliningJobName": "cancer-baseline"},
        ModelExplainabilityJobInput={"EndpointInput": {"EndpointName": "cancer",
                                                       "LocalPath": "/opt/ml/processing/input/endpoint"}},
        ModelExplainabilityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
            "S3Uri": "s3://demo/monitor/results", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})
    sm.create_monitoring_schedule(MonitoringScheduleName="cancer-hourly", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": "cancer-explainability", "MonitoringType": "ModelExplainability"})


def _traffic(scene: _Scene, baseline: dict[str, Any], baseline_row: np.ndarray) -> list[dict[str, Any]]:
    """An hour of requests like the training data, then an hour with the strongest features stuck; returns the
    two executions."""
    server, objects, sm, runtime, features, hour = (scene.server, scene.objects, scene.sm, scene.runtime,
                                                    scene.features, scene.hour)
    live = scene.x[400:]
    _step(f"4. Hour {hour:%H}:00: {len(live)} requests like the training data")
    _send(runtime, live, objects)
    server.set_time(hour + datetime.timedelta(hours=1, seconds=5))
    _wait(lambda: _executions(sm, 1), "the first execution")

    attributions = baseline["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    strongest = np.argsort([-attributions[name] for name in features])[:3]
    stuck = live.copy()
    stuck[:, strongest] = baseline_row[strongest]
    names = ", ".join(features[i] for i in strongest)
    _step(f"5. Hour {hour + datetime.timedelta(hours=1):%H}:00: the same requests, but the three features the "
          f"baseline ranks first ({names}) stuck at their mean, as a broken feature pipeline would send them")
    server.set_time(hour + datetime.timedelta(hours=1, minutes=10))
    _send(runtime, stuck, objects)
    server.set_time(hour + datetime.timedelta(hours=2, seconds=5))
    found: list[dict[str, Any]] = _wait(lambda: _executions(sm, 2), "the second execution")
    return found


def _report(scene: _Scene, found: list[dict[str, Any]]) -> None:
    objects, sm = scene.objects, scene.sm
    _step("6. What the executions found")
    print(f"   {'scheduled (UTC)':<18}{'status':<26}top attributions")
    for execution in found:
        job = sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].split("/")[-1])
        folder = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        status = execution["MonitoringExecutionStatus"]
        if status not in ("Completed", "CompletedWithViolations"):
            raise DemoFailed(f"an execution ended {status}: {execution.get('FailureReason')}")
        analysis = orjson.loads(objects.read(f"{folder}/analysis.json"))
        print(f"   {execution['ScheduledTime']:%Y-%m-%d %H:%M}  {status:<26}{_top(analysis)}")
        if status == "CompletedWithViolations":
            for violation in orjson.loads(objects.read(f"{folder}/constraint_violations.json"))["violations"]:
                print(f"   {'':<18}{violation['constraint_check_type']}: {violation['description']}")
        print(f"   {'':<18}report: {objects.path(folder + '/report.html')}")
    if [e["MonitoringExecutionStatus"] for e in found] != ["Completed", "CompletedWithViolations"]:
        raise DemoFailed("expected the normal hour Completed and the stuck hour CompletedWithViolations")


def _step(text: str) -> None:
    print(f"\n{text}", flush=True)


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def _input(name: str, uri: str, path: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": path, "S3DataType": "S3Prefix",
                                           "S3InputMode": "File"}}


def _send(runtime: Any, rows: np.ndarray, objects: LocalObjects) -> None:
    """One request per row; returns once the capture writer has written them all."""
    before = _captured(objects)
    for row in rows:
        runtime.invoke_endpoint(EndpointName="cancer", ContentType="text/csv", Accept="text/csv",
                                Body=_csv(row[None, :]))
    _wait(lambda: _captured(objects) >= before + len(rows), "the capture of the requests")


def _captured(objects: LocalObjects) -> int:
    return sum(objects.read(uri).count(b"\n") for uri in objects.list("s3://demo/capture/cancer/"))


def _ended(described: dict[str, Any], member: str) -> dict[str, Any] | None:
    return described if described[member] in TERMINAL else None


def _executions(sm: Any, count: int) -> list[dict[str, Any]] | None:
    found = sm.list_monitoring_executions(MonitoringScheduleName="cancer-hourly", SortBy="ScheduledTime",
                                          SortOrder="Ascending")["MonitoringExecutionSummaries"]
    ended = [e for e in found if e["MonitoringExecutionStatus"] in TERMINAL]
    return ended if len(ended) >= count else None


def _wait(check: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise DemoFailed(f"{what} did not finish within {timeout:.0f} s")


def _top(analysis: dict[str, Any], count: int = 3) -> str:
    values = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    ranked = sorted(values.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {value:.3f}" for name, value in ranked)
