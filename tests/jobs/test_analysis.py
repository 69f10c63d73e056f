"""One execution's work, run in this process against a local object store: outcomes, outputs and reasons."""

from __future__ import annotations

import dataclasses
import datetime
import os
import pwd
import shutil
import socket
import tempfile
import textwrap
import uuid
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from clarimon.engine import explain, kernel_shap
from clarimon.jobs import analysis as job_analysis
from clarimon.jobs import analysis_configs
from clarimon.jobs.task import NO_DATA, Source, Task
from clarimon.objects import LocalObjects
from clarimon.serving.capture import Exchange, prefix, record
from clarimon.serving.packaging import package
from clarimon.serving.workers import ModelSpec
from tests.documents import PROBABILITY_ENTRY_POINT, SKLEARN_IMAGE

FEATURES = [f"f{i}" for i in range(6)]
HOUR = datetime.datetime(2026, 11, 25, 7, tzinfo=datetime.UTC)
CAPTURE: dict[str, Any] = {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://bucket/capture",
           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
           "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}


@pytest.fixture(scope="module")
def trained() -> tuple[LogisticRegression, np.ndarray]:
    rows, labels = make_classification(n_samples=400, n_features=6, n_informative=4, n_redundant=0,
                                       random_state=3)
    return LogisticRegression(max_iter=500).fit(rows, labels), rows


@pytest.fixture
def home(tmp_path: Path, trained: tuple[LogisticRegression, np.ndarray]) -> Path:
    model, rows = trained
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    joblib.dump(model, model_dir / "model.joblib")
    (model_dir / "code" / "inference.py").write_text(PROBABILITY_ENTRY_POINT)
    objects = LocalObjects(tmp_path / "s3")
    objects.write("s3://bucket/config/analysis_config.json", orjson.dumps(CONFIG))
    baseline = explain(CONFIG, rows[:60], lambda x: model.predict_proba(x))
    objects.write("s3://bucket/baseline/analysis.json", orjson.dumps(baseline.to_analysis_json()))
    return tmp_path


CONFIG: dict[str, Any] = {
    "methods": {"shap": {"baseline": [[0.0] * 6], "num_samples": 100, "agg_method": "mean_abs",
                         "use_logit": False, "save_local_shap_values": True, "seed": 11}},
    "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                  "content_type": "text/csv", "accept_type": "text/csv", "probability": 1},
    "headers": FEATURES,
}


def capture(home: Path, rows: np.ndarray, moment: datetime.datetime) -> None:
    """The endpoint's capture of one CSV request per row, as the server writes it."""
    objects = LocalObjects(home / "s3")
    lines = []
    for row in rows:
        body = (",".join(repr(float(v)) for v in row) + "\n").encode()
        exchange = Exchange("ep", "AllTraffic", body, "text/csv", b"0.5\n", "text/csv", None, moment.timestamp())
        lines.append(orjson.dumps(record(CAPTURE, exchange, str(uuid.uuid4()))))
    folder = prefix(CAPTURE["DestinationS3Uri"], exchange)
    objects.write(f"{folder}/{uuid.uuid4()}.jsonl", b"\n".join(lines) + b"\n")


def task(home: Path, config_uri: str = "s3://bucket/config/analysis_config.json", **changes: Any) -> Task:
    """The task of a monitoring execution, its config read from `config_uri` as the job's preparation reads it."""
    spec = ModelSpec(SKLEARN_IMAGE, home / "model", {"SAGEMAKER_PROGRAM": "inference.py"}, home / "cache")
    source = changes.get("source", Source("s3://bucket/capture/ep/"))
    values: dict[str, Any] = {
        "job_name": "model-monitoring-1", "home": str(home), "s3_endpoint_url": None,
        "config": analysis_configs.read(LocalObjects(home / "s3"), config_uri, source),
        "constraints_uri": "s3://bucket/baseline/analysis.json",
        "output_uri": "s3://bucket/out/ep/sched/2026/11/25/08",
        "start": HOUR, "end": HOUR + datetime.timedelta(hours=1),
        "source": source, "model": spec, "model_label": 'endpoint "ep"',
        "dimensions": {"Endpoint": "ep", "MonitoringSchedule": "sched"},
    }
    values.update(changes)
    return Task(**values)


def output(home: Path, name: str) -> Path:
    return home / "s3" / "bucket" / "out" / "ep" / "sched" / "2026" / "11" / "25" / "08" / name


def test_traffic_like_the_baseline_completes(home: Path, trained: tuple[LogisticRegression, np.ndarray]) -> None:
    _, rows = trained
    capture(home, rows[100:160], HOUR + datetime.timedelta(minutes=10))
    capture(home, rows[200:260], HOUR - datetime.timedelta(minutes=10))  # before the window: not read
    outcome = job_analysis.run(task(home))
    assert (outcome.status, outcome.failure_reason, outcome.rows) == ("Completed", None, 60)
    assert outcome.exit_message == "Completed: Job completed successfully with no violations."
    analysis = orjson.loads(output(home, "analysis.json").read_bytes())
    assert set(analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == set(FEATURES)
    assert not output(home, "constraint_violations.json").exists()
    assert len(output(home, "explanations_shap/out.csv").read_text().splitlines()) == 61
    assert "report" in output(home, "report.html").read_text().lower()
    log = output(home, "execution.log").read_text()
    assert "capture files=1 records=60 outside_window=0" in log  # the 06:00 folder is not read
    metrics = [orjson.loads(line) for line in output(home, "cloudwatch_metrics.jsonl").read_bytes().splitlines()]
    assert {m["MetricName"] for m in metrics} == {*(f"feature_{f}" for f in FEATURES), "ExpectedValue"}
    assert {"Name": "ExplainabilityMethod", "Value": "KernelShap"} in metrics[0]["Dimensions"]
    assert set(outcome.timings) >= {"read", "shap", "model", "write"}


def test_shifted_traffic_completes_with_a_drift_violation(home: Path,
                                                          trained: tuple[LogisticRegression, np.ndarray]) -> None:
    model, rows = trained
    shifted = rows[100:160].copy()
    top = np.argsort(-np.abs(model.coef_[0]))[:2]
    shifted[:, top] = 0.0  # the two strongest features sit at the background's value: no attribution left
    capture(home, shifted, HOUR + datetime.timedelta(minutes=5))
    outcome = job_analysis.run(task(home, environment={"publish_cloudwatch_metrics": "Disabled"}))
    assert outcome.status == "CompletedWithViolations"
    assert outcome.exit_message == "CompletedWithViolations: Job completed successfully with 1 violations."
    violations = orjson.loads(output(home, "constraint_violations.json").read_bytes())["violations"]
    assert [v["constraint_check_type"] for v in violations] == ["feature_attribution_drift_check"]
    assert violations[0]["description"].startswith("Feature attribution drift 0.")
    assert float(violations[0]["description"].split()[3]) < 0.9
    assert not output(home, "cloudwatch_metrics.jsonl").exists()


def test_an_empty_window_fails_with_sagemakers_reason_and_says_where_it_looked(home: Path) -> None:
    outcome = job_analysis.run(task(home))
    assert outcome.status == "Failed" and outcome.failure_reason == NO_DATA
    assert "s3://bucket/capture/ep/" in outcome.exit_message and "2026-11-25T07:00:00Z" in outcome.exit_message
    assert "Job inputs had no data" in output(home, "execution.log").read_text()


@pytest.mark.parametrize(("content", "expected"), [
    (None, "Cannot read the analysis config (ConfigUri): s3://bucket/config/missing.json"),
    (b"{not json", "s3://bucket/config/missing.json (ConfigUri) is not JSON"),
    (orjson.dumps({"methods": {"pdp": {}}}), "methods.pdp is not supported"),
])
def test_a_bad_config_fails_naming_the_file(home: Path, trained: tuple[LogisticRegression, np.ndarray],
                                            content: bytes | None, expected: str) -> None:
    capture(home, trained[1][:5], HOUR)
    if content is not None:
        LocalObjects(home / "s3").write("s3://bucket/config/missing.json", content)
    outcome = job_analysis.run(task(home, config_uri="s3://bucket/config/missing.json"))
    assert outcome.status == "Failed"
    assert outcome.failure_reason is not None and expected in outcome.failure_reason


def test_constraints_that_are_not_a_baseline_analysis_fail_naming_them(
        home: Path, trained: tuple[LogisticRegression, np.ndarray]) -> None:
    capture(home, trained[1][:5], HOUR)
    LocalObjects(home / "s3").write("s3://bucket/baseline/constraints.json", b'{"features": []}')
    outcome = job_analysis.run(task(home, constraints_uri="s3://bucket/baseline/constraints.json"))
    assert outcome.status == "Failed"
    assert "s3://bucket/baseline/constraints.json have no explanations.kernel_shap" in str(outcome.failure_reason)


def test_rows_the_model_cannot_take_fail_naming_the_model(home: Path,
                                                          trained: tuple[LogisticRegression, np.ndarray]) -> None:
    capture(home, trained[1][:5, :4], HOUR)  # four values where the model takes six
    config = {**CONFIG, "headers": FEATURES[:4], "methods": {"shap": {**CONFIG["methods"]["shap"],
                                                                       "baseline": [[0.0] * 4]}}}
    LocalObjects(home / "s3").write("s3://bucket/config/four.json", orjson.dumps(config))
    outcome = job_analysis.run(task(home, config_uri="s3://bucket/config/four.json"))
    assert outcome.status == "Failed"
    assert str(outcome.failure_reason).startswith('The model of endpoint "ep" failed')


def test_an_error_of_the_explainer_is_not_blamed_on_the_model(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                              trained: tuple[LogisticRegression, np.ndarray]) -> None:
    capture(home, trained[1][:5], HOUR)

    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise ValueError("expected square matrix")

    monkeypatch.setattr(kernel_shap, "solve", broken)
    outcome = job_analysis.run(task(home))
    assert outcome.status == "Failed"
    reason = str(outcome.failure_reason)
    assert reason.startswith("clarimon's Kernel SHAP failed") and "not of the model" in reason, reason
    assert "expected square matrix" in reason


def test_instances_split_the_rows_and_merge_exactly(home: Path,
                                                    trained: tuple[LogisticRegression, np.ndarray]) -> None:
    capture(home, trained[1][100:130], HOUR + datetime.timedelta(minutes=1))
    one = job_analysis.run(task(home))
    single = output(home, "explanations_shap/out.csv").read_text()
    three = job_analysis.run(task(home, instance_count=3))
    assert one.status == three.status == "Completed"
    split = output(home, "explanations_shap/out.csv").read_text()
    a = np.loadtxt(single.splitlines()[1:], delimiter=",")
    b = np.loadtxt(split.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_instances_on_a_dask_cluster_merge_exactly(home: Path, trained: tuple[LogisticRegression, np.ndarray]) -> None:
    """The parts run on a Dask cluster's workers, which fetch the model from the object store (its folder is not
    where they run), and merge into what one instance computes."""
    from distributed import LocalCluster

    capture(home, trained[1][100:130], HOUR + datetime.timedelta(minutes=1))
    job_analysis.run(task(home))
    single = output(home, "explanations_shap/out.csv").read_text()
    archive = package(home / "model" / "model.joblib", "sklearn", home / "model" / "code" / "inference.py")
    LocalObjects(home / "s3").write("s3://bucket/models/m/model.tar.gz", archive)
    elsewhere = ModelSpec(SKLEARN_IMAGE, home / "not-on-the-workers", {"SAGEMAKER_PROGRAM": "inference.py"},
                          home / "cache", archive="s3://bucket/models/m/model.tar.gz")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:  # a free port: 8787 may be taken
        two = job_analysis.run(task(home, instance_count=2, model=elsewhere, dask_scheduler=cluster.scheduler_address))
    assert two.status == "Completed", two
    split = output(home, "explanations_shap/out.csv").read_text()
    a = np.loadtxt(single.splitlines()[1:], delimiter=",")
    b = np.loadtxt(split.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_an_unreachable_dask_scheduler_fails_naming_it(home: Path, trained: tuple[LogisticRegression, np.ndarray],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_analysis, "DASK_CONNECT_SECONDS", 1)
    capture(home, trained[1][100:110], HOUR + datetime.timedelta(minutes=1))
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    outcome = job_analysis.run(task(home, instance_count=2, dask_scheduler=address))
    assert outcome.status == "Failed"
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith(f"Cannot reach the Dask scheduler {address} (--dask-scheduler)")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_a_models_code_in_a_job_runs_as_the_model_user(home: Path, trained: tuple[LogisticRegression, np.ndarray],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, rows = trained
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-job's-key")  # the job's process has it: its parts do not
    capture(home, rows[100:130], HOUR + datetime.timedelta(minutes=10))
    folder = Path(tempfile.mkdtemp(prefix="clarimon-test-"))  # a folder `nobody` may pass through (tmp_path: not)
    try:
        folder.chmod(0o711)
        secret = folder / "clarimon.db"
        secret.write_bytes(b"SQLite format 3\x00")
        secret.chmod(0o600)
        shutil.copytree(home, folder / "home")
        model_dir = folder / "home" / "model"
        (folder / "home").chmod(0o711)
        for path in (model_dir, model_dir / "code"):
            path.chmod(0o755)
        (model_dir / "code" / "inference.py").write_text(PROBABILITY_ENTRY_POINT + textwrap.dedent(f'''

            def predict_fn(data, model):
                import os
                try:
                    open({str(secret)!r}).close()
                except OSError:
                    if "AWS_SECRET_ACCESS_KEY" not in os.environ:
                        return model.predict_proba(data)
                raise RuntimeError("the model opened the server's database or found the object store's key")
            '''))
        (model_dir / "code" / "inference.py").chmod(0o644)
        nobody = pwd.getpwnam("nobody")
        boxed = job_analysis.run(task(folder / "home", model=dataclasses.replace(
            task(home).model, model_dir=model_dir), model_user=(nobody.pw_uid, nobody.pw_gid)))
        assert (boxed.status, boxed.failure_reason) == ("Completed", None)
        unboxed = job_analysis.run(task(folder / "home", model=dataclasses.replace(task(home).model,
                                                                                  model_dir=model_dir)))
        assert unboxed.status == "Failed" and "the model opened the server's database" in str(unboxed.failure_reason)
        assert os.environ["AWS_SECRET_ACCESS_KEY"] == "the-job's-key"  # the job's own process keeps it
    finally:
        shutil.rmtree(folder)
