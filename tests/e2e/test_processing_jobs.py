"""CreateProcessingJob end to end through boto3: Clarify's image runs the engine; other images fail, saying so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
import pytest
from sklearn.linear_model import LogisticRegression

from clarimon.engine import explain
from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from tests.documents import PROBABILITY_ENTRY_POINT, SKLEARN_IMAGE, model
from tests.documents import clarify_job as job
from tests.e2e.test_endpoints import X, fitted  # noqa: F401 (fixture)
from tests.e2e.test_job_definitions import error_of
from tests.e2e.test_monitoring import TERMINAL
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e

HEADERS = ["target", *[f"f{i}" for i in range(X.shape[1])]]
CONFIG: dict[str, Any] = {
    "dataset_type": "text/csv", "headers": HEADERS, "label": "target",
    "methods": {"report": {"name": "report", "title": "Analysis Report"},
                "shap": {"baseline": [np.round(X.mean(axis=0), 4).tolist()], "num_samples": 64,
                         "agg_method": "mean_abs", "use_logit": False, "save_local_shap_values": True, "seed": 3}},
    "predictor": {"model_name": "churn", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                  "accept_type": "text/csv", "content_type": "text/csv", "label": 1},
}


def finished(client: Any, name: str, timeout: float = 90) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        described = dict(client.describe_processing_job(ProcessingJobName=name))
        return described if described["ProcessingJobStatus"] in TERMINAL else None

    return eventually(ended, timeout, lambda: f"{name}: {client.describe_processing_job(ProcessingJobName=name)}")


def stage(server: Server, tmp_path: Path, fitted: LogisticRegression) -> LocalObjects:  # noqa: F811
    """The model's archive, the analysis config and a headerless CSV dataset (label first) in the store."""
    objects = LocalObjects(server.home / "s3")
    joblib.dump(fitted, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(PROBABILITY_ENTRY_POINT)
    objects.write("s3://bucket/models/churn/model.tar.gz",
                  package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py"))
    objects.write("s3://bucket/clarify/config/analysis_config.json", orjson.dumps(CONFIG))
    rows = np.column_stack([fitted.predict(X[:60]), X[:60]])
    objects.write("s3://bucket/clarify/data/train.csv",
                  "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode())
    return objects


def test_clarify_job_explains_the_named_model(make_server: Any, region: str, tmp_path: Path,
                                              fitted: LogisticRegression) -> None:  # noqa: F811
    server = make_server("--scheduler-seconds", "0.2")
    client = server.client(region)
    objects = stage(server, tmp_path, fitted)
    client.create_model(**model("churn", image=SKLEARN_IMAGE))

    arn = client.create_processing_job(**job("baseline"))["ProcessingJobArn"]
    assert arn == f"arn:aws:sagemaker:{region}:000000000000:processing-job/baseline"
    described = finished(client, "baseline")
    assert described["ProcessingJobStatus"] == "Completed", described
    assert described["ProcessingInputs"] == job("baseline")["ProcessingInputs"]
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"] >= described["CreationTime"]
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "risk"}]

    written = orjson.loads(objects.read("s3://bucket/clarify/baseline/output/analysis.json"))
    expected = explain(CONFIG, X[:60], fitted.predict_proba).to_analysis_json()
    np.testing.assert_allclose(
        list(written["explanations"]["kernel_shap"]["label0"]["global_shap_values"].values()),
        list(expected["explanations"]["kernel_shap"]["label0"]["global_shap_values"].values()), rtol=1e-9)
    assert objects.read("s3://bucket/clarify/baseline/output/report.html").startswith(b"<!DOCTYPE html>")
    local = objects.read("s3://bucket/clarify/baseline/output/explanations_shap/out.csv").decode().splitlines()
    assert len(local) == 61  # a header and one row per record
    assert not objects.list("s3://bucket/clarify/baseline/output/cloudwatch_metrics")  # no monitoring metrics

    code, message, _ = error_of(client.create_processing_job, **job("baseline"))
    assert (code, message) == ("ValidationException", "Job name must be unique within an AWS account and region, "
                                                      f"and a job with this name already exists ({arn})")
    listed = client.list_processing_jobs(NameContains="base")["ProcessingJobSummaries"]
    assert [(j["ProcessingJobName"], j["ProcessingJobStatus"]) for j in listed] == [("baseline", "Completed")]


def test_jobs_clarimon_cannot_run_fail_with_a_reason(make_server: Any, region: str, tmp_path: Path,
                                                     fitted: LogisticRegression) -> None:  # noqa: F811
    server = make_server("--scheduler-seconds", "0.2")
    client = server.client(region)
    objects = stage(server, tmp_path, fitted)

    spark = "173754725891.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.5-cpu"
    client.create_processing_job(**job("spark", image=spark))
    described = client.describe_processing_job(ProcessingJobName="spark")  # Failed at once: nothing runs it
    assert described["ProcessingJobStatus"] == "Failed"
    assert "clarimon runs no containers" in described["FailureReason"] and spark in described["FailureReason"]

    client.create_processing_job(**job("no-model"))
    failed = finished(client, "no-model")
    assert failed["ProcessingJobStatus"] == "Failed"
    assert "Could not find model" in failed["FailureReason"] and "churn" in failed["FailureReason"]

    client.create_model(**model("churn", image=SKLEARN_IMAGE))
    objects.write("s3://bucket/clarify/bad/data.csv", b"1.0,2.0\n3.0,4.0\n")
    client.create_processing_job(**job("bad-data", data="s3://bucket/clarify/bad/"))
    failed = finished(client, "bad-data")
    assert failed["ProcessingJobStatus"] == "Failed"
    assert "s3://bucket/clarify/bad/data.csv" in failed["FailureReason"]
    assert "line 1: 2 fields where the header has 7" in failed["FailureReason"]

    client.create_processing_job(**job("no-config", config="s3://bucket/clarify/nothing/"))
    failed = finished(client, "no-config")
    assert failed["ProcessingJobStatus"] == "Failed"
    assert failed["FailureReason"] == "No analysis_config.json under the config input s3://bucket/clarify/nothing/."
    assert error_of(client.describe_processing_job, ProcessingJobName="missing")[:2] == (
        "ValidationException", f"Could not find processing job 'arn:aws:sagemaker:{region}:000000000000:"
                               "processing-job/missing'.")


def test_a_job_no_server_has_taken_stops_at_once(make_server: Any, region: str, tmp_path: Path,
                                                 fitted: LogisticRegression) -> None:  # noqa: F811
    server = make_server("--scheduler-seconds", "600")  # looks for jobs at start, then not for ten minutes
    client = server.client(region)
    stage(server, tmp_path, fitted)
    client.create_model(**model("churn", image=SKLEARN_IMAGE))
    client.create_processing_job(**job("waiting"))
    assert client.describe_processing_job(ProcessingJobName="waiting")["ProcessingJobStatus"] == "InProgress"
    client.stop_processing_job(ProcessingJobName="waiting")
    described = client.describe_processing_job(ProcessingJobName="waiting")
    assert (described["ProcessingJobStatus"], described["ExitMessage"]) == (
        "Stopped", "Stopped on request before it started.")
    assert "ProcessingStartTime" not in described
    assert error_of(client.stop_processing_job, ProcessingJobName="waiting")[0] == "ValidationException"
