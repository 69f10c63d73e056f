"""The sagemaker SDK 3.x Model Monitor flow, as a user writes it; run by `test_sagemaker_sdk3.py` with the Python of an
environment that has sagemaker 3.x (never imported by the test suite itself).

Only the environment differs from a notebook that talks to AWS: AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_S3 and
SAGEMAKER_VALIDATE_ROLE=false. Prints one JSON line per step for the test to check.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import boto3
from sagemaker.core.clarify import DataConfig, ModelConfig, SHAPConfig
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.model_monitor import (
    CronExpressionGenerator,
    DataCaptureConfig,
    EndpointInput,
    ModelExplainabilityMonitor,
)
from sagemaker.serve import ModelBuilder

ROLE = "arn:aws:iam::123456789012:role/monitor"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
FEATURES = ["f0", "f1", "f2"]


def step(name: str, **facts: Any) -> None:
    print(json.dumps({"step": name, **facts}, default=str), flush=True)


def main(model_data: str, rows: list[list[float]], traffic: list[list[float]]) -> None:
    session = Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="bucket")

    # Deploy with data capture through ModelBuilder (3.x's replacement of Model.deploy).
    builder = ModelBuilder(image_uri=SKLEARN_IMAGE, s3_model_data_url=model_data, role_arn=ROLE,
                           env_vars={"SAGEMAKER_PROGRAM": "inference.py"}, sagemaker_session=session,
                           instance_type="ml.m5.large")
    builder.build(model_name="churn")
    endpoint = builder.deploy(endpoint_name="churn", initial_instance_count=1, instance_type="ml.m5.large",
                              wait=True,
                              data_capture_config=DataCaptureConfig(enable_capture=True, sampling_percentage=100,
                                                                    destination_s3_uri="s3://bucket/capture",
                                                                    sagemaker_session=session))
    step("deployed", status=session.sagemaker_client.describe_endpoint(EndpointName="churn")["EndpointStatus"])
    for row in traffic:
        endpoint.invoke(body=",".join(str(v) for v in row), content_type="text/csv")
    step("invoked", count=len(traffic))

    # The baseline: a Clarify processing job, its log read through CloudWatch Logs (logs=True).
    session.upload_string_as_file_body("\n".join(",".join(str(v) for v in [1, *row]) for row in rows),
                                       "bucket", "baseline/train.csv")
    monitor = ModelExplainabilityMonitor(role=ROLE, instance_count=1, instance_type="ml.m5.xlarge",
                                         max_runtime_in_seconds=600, sagemaker_session=session)
    try:
        monitor.suggest_baseline(
            data_config=DataConfig(s3_data_input_path="s3://bucket/baseline/train.csv",
                                   s3_output_path="s3://bucket/baseline/output", label="target",
                                   headers=["target", *FEATURES], dataset_type="text/csv"),
            explainability_config=SHAPConfig(baseline=[rows[0]], num_samples=32, agg_method="mean_abs", seed=3),
            model_config=ModelConfig(model_name="churn", instance_type="ml.m5.xlarge", instance_count=1,
                                     content_type="text/csv", accept_type="text/csv"),
            model_scores=1, wait=True, logs=True)
    except AttributeError as error:
        # sagemaker 3.27.0's own defect, whatever the server: once the job has ended, suggest_baseline wraps it in
        # a ClarifyBaseliningJob that reads `sagemaker_session` from 3.x's ProcessingJob, which has none. The job
        # and its analysis.json are there; the constraints are passed to the schedule by their URI instead.
        step("sdk-defect", error=str(error))
    constraints = json.loads(session.read_s3_file("bucket", "baseline/output/analysis.json"))
    step("baselined", features=list(constraints["explanations"]["kernel_shap"]["label0"]["global_shap_values"]))

    # The schedule, its execution and what it found.
    monitor.create_monitoring_schedule(
        endpoint_input=EndpointInput(endpoint_name="churn", destination="/opt/ml/processing/input/endpoint"),
        output_s3_uri="s3://bucket/monitor", monitor_schedule_name="churn-now",
        constraints="s3://bucket/baseline/output/analysis.json",
        schedule_cron_expression=CronExpressionGenerator.now(), data_analysis_start_time="-PT1H",
        data_analysis_end_time="-PT0H")
    # sagemaker 3.27.0's ModelExplainabilityMonitor.list_executions() fails on its own objects once an execution
    # exists ('MonitoringExecution' object has no attribute 'job_name'): the executions are listed with the
    # session's client, as sagemaker-core's resources do.
    client = session.sagemaker_client
    deadline = time.monotonic() + 180
    while True:
        summaries = client.list_monitoring_executions(MonitoringScheduleName="churn-now")[
            "MonitoringExecutionSummaries"]
        statuses = [e["MonitoringExecutionStatus"] for e in summaries]
        if statuses and all(s in ("Completed", "CompletedWithViolations", "Failed", "Stopped") for s in statuses):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"no execution ended: {statuses}")
        time.sleep(1)
    job = client.describe_processing_job(ProcessingJobName=summaries[0]["ProcessingJobArn"].split("/")[-1])
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    key = output[len("s3://bucket/"):] + "/constraint_violations.json"
    violations = json.loads(session.read_s3_file("bucket", key))
    step("executed", statuses=statuses, exit_message=job.get("ExitMessage"), violations=violations["violations"])
    step("schedule", status=monitor.describe_schedule()["MonitoringScheduleStatus"])

    monitor.update_monitoring_schedule(schedule_cron_expression=CronExpressionGenerator.daily(hour=3))
    step("updated", expression=monitor.describe_schedule()["MonitoringScheduleConfig"]["ScheduleConfig"][
        "ScheduleExpression"])
    monitor.stop_monitoring_schedule()
    step("stopped", status=monitor.describe_schedule()["MonitoringScheduleStatus"])
    monitor.delete_monitoring_schedule()
    step("deleted", schedules=session.sagemaker_client.list_monitoring_schedules()["MonitoringScheduleSummaries"])


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]))
