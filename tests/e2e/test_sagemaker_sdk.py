"""The sagemaker SDK's Model Monitor flow, unchanged, against clarimon (SageMaker) and moto's server (S3).

Only the endpoint settings differ from a notebook that talks to AWS: AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and AWS_ENDPOINT_URL_S3, which boto3 honours.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from clarimon.serving.packaging import package
from tests.documents import PROBABILITY_ENTRY_POINT, ROLE, SKLEARN_IMAGE
from tests.e2e.test_endpoints import X, fitted, wait_for  # noqa: F401 (fixture)
from tests.e2e.test_monitoring import FEATURES, TERMINAL, serve
from tests.servers import Server, eventually, moto_server

pytestmark = pytest.mark.e2e

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}


@pytest.fixture
def sdk(make_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    """A clarimon server on moto's S3, the environment pointing boto3 at both, and a sagemaker Session."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with moto_server() as s3_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
        # Signatures verified, as a deployment runs: the SDK signs with the same key and secret as against AWS.
        secrets = tmp_path / "credentials.ini"
        secrets.write_text("[testing]\nsecret = testing\naccount = 000000000000\n")
        server, clock = serve(make_server, tmp_path, "--s3-endpoint-url", s3_url, "--credentials", str(secrets))
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        clock.set("")  # the system clock: the SDK's NOW schedule analyses the hour before it was created
        import sagemaker

        boto3.client("s3").create_bucket(Bucket="bucket")
        yield server, sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="bucket")


def upload_model(session: Any, tmp_path: Path, model: LogisticRegression) -> str:
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(PROBABILITY_ENTRY_POINT)
    archive = package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py")
    session.upload_string_as_file_body(archive, "bucket", "models/churn/model.tar.gz")
    return "s3://bucket/models/churn/model.tar.gz"


def executions_of(monitor: Any, count: int, timeout: float = 120) -> list[Any]:
    def ended() -> list[Any] | None:
        found = list(monitor.list_executions())
        return found if len(found) >= count and all(e.describe()["ProcessingJobStatus"] in TERMINAL for e in found) \
            else None

    return eventually(ended, timeout, lambda: str([e.describe() for e in monitor.list_executions()]), interval=0.5)


def test_model_explainability_monitor_flow(sdk: tuple[Server, Any], tmp_path: Path,
                                           fitted: LogisticRegression) -> None:  # noqa: F811
    server, session = sdk
    from sagemaker.clarify import DataConfig, ModelConfig, SHAPConfig
    from sagemaker.model import Model
    from sagemaker.model_monitor import (
        CronExpressionGenerator,
        DataCaptureConfig,
        EndpointInput,
        ModelExplainabilityMonitor,
    )
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    model = Model(image_uri=SKLEARN_IMAGE, model_data=upload_model(session, tmp_path, fitted), role=ROLE,
                  env={"SAGEMAKER_PROGRAM": "inference.py"}, name="churn", sagemaker_session=session)
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="churn", wait=False,
                 data_capture_config=DataCaptureConfig(enable_capture=True, sampling_percentage=100,
                                                       destination_s3_uri="s3://bucket/capture",
                                                       sagemaker_session=session))
    assert wait_for(server.client(access_key="testing", secret="testing"), "churn")["EndpointStatus"] == "InService"
    predictor = Predictor("churn", sagemaker_session=session, serializer=CSVSerializer())
    for row in X[100:140]:
        predictor.predict(row.tolist())

    train = np.column_stack([fitted.predict(X[:80]), X[:80]])
    session.upload_string_as_file_body("\n".join(",".join(repr(float(v)) for v in row) for row in train),
                                       "bucket", "baseline/train.csv")
    monitor = ModelExplainabilityMonitor(role=ROLE, instance_count=1, instance_type="ml.m5.xlarge",
                                         max_runtime_in_seconds=600, sagemaker_session=session)
    monitor.suggest_baseline(
        data_config=DataConfig(s3_data_input_path="s3://bucket/baseline/train.csv",
                               s3_output_path="s3://bucket/baseline/output", label="target",
                               headers=["target", *FEATURES], dataset_type="text/csv"),
        explainability_config=SHAPConfig(baseline=[np.round(X.mean(axis=0), 4).tolist()], num_samples=100,
                                         agg_method="mean_abs", save_local_shap_values=False, seed=3),
        model_config=ModelConfig(model_name="churn", instance_type="ml.m5.xlarge", instance_count=1,
                                 content_type="text/csv", accept_type="text/csv"),
        model_scores=1, wait=True, logs=False)
    constraints = monitor.suggested_constraints().body_dict
    shap = constraints["explanations"]["kernel_shap"]["label0"]
    assert list(shap["global_shap_values"]) == FEATURES and shap["expected_value"] > 0

    monitor.create_monitoring_schedule(
        endpoint_input=EndpointInput(endpoint_name="churn", destination="/opt/ml/processing/input/endpoint"),
        output_s3_uri="s3://bucket/monitor", monitor_schedule_name="churn-now",
        schedule_cron_expression=CronExpressionGenerator.now(), data_analysis_start_time="-PT1H",
        data_analysis_end_time="-PT0H")
    [execution] = executions_of(monitor, 1)
    described = execution.describe()
    assert described["ProcessingJobStatus"] == "Completed", described
    assert described["ExitMessage"] == "Completed: Job completed successfully with no violations."
    assert execution.output.destination.startswith("s3://bucket/monitor/churn/churn-now/")
    analysis = session.read_s3_file("bucket", execution.output.destination[len("s3://bucket/"):] + "/analysis.json")
    assert '"kernel_shap"' in analysis
    schedule = monitor.describe_schedule()
    assert schedule["MonitoringScheduleStatus"] == "Scheduled"
    assert schedule["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"] == "Completed"
    definition = session.sagemaker_client.describe_model_explainability_job_definition(
        JobDefinitionName=monitor.job_definition_name)
    assert definition["ModelExplainabilityBaselineConfig"] == {"BaseliningJobName": monitor.latest_baselining_job_name}

    attached = ModelExplainabilityMonitor.attach("churn-now", sagemaker_session=session)
    assert attached.describe_schedule()["MonitoringScheduleName"] == "churn-now"
    assert [e.describe()["ProcessingJobArn"] for e in attached.list_executions()] == [described["ProcessingJobArn"]]
    attached.update_monitoring_schedule(schedule_cron_expression=CronExpressionGenerator.daily(hour=3))
    updated = attached.describe_schedule()
    assert updated["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 3 ? * * *)"
    attached.stop_monitoring_schedule()
    assert attached.describe_schedule()["MonitoringScheduleStatus"] == "Stopped"
    attached.delete_monitoring_schedule()
    assert session.sagemaker_client.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    listed = session.sagemaker_client.list_model_explainability_job_definitions()["JobDefinitionSummaries"]
    assert listed == []  # the SDK deletes the schedule's job definition with it



def test_the_readmes_sdk_example_runs(sdk: tuple[Server, Any], tmp_path: Path) -> None:
    """The README's "Use it with the sagemaker SDK" example, as printed there, on a three-feature model."""
    server, session = sdk
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Use it with the sagemaker SDK"):]
    start = section.index("```python\n") + len("```python\n")
    example = section[start:section.index("\n```\n", start)]
    assert "monitor.suggest_baseline(" in example
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3))
    model = LogisticRegression().fit(features, (features @ [1.0, -2.0, 0.5] > 0).astype(int))
    upload_model(session, tmp_path, model)
    exec(compile(example, "README.md", "exec"), {})  # the README's code, run as a user would
    client = server.client(access_key="testing", secret="testing")
    assert client.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    baselines = client.list_processing_jobs(StatusEquals="Completed")["ProcessingJobSummaries"]
    assert len(baselines) == 1
    assert client.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []  # deleted at the end
