"""CloudWatch Logs on clarimon's port: each job's log and each endpoint worker's log, read with boto3's `logs`
client and with the sagemaker SDK's own log tailing, signed for the `logs` service, in the server's clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from sklearn.linear_model import LogisticRegression

from tests.documents import SKLEARN_IMAGE, model
from tests.documents import clarify_job as job
from tests.e2e.test_endpoints import X, csv, deploy_sklearn, fitted, wait_for  # noqa: F401 (fixture)
from tests.e2e.test_job_definitions import error_of
from tests.e2e.test_monitoring import serve
from tests.e2e.test_processing_jobs import finished, stage
from tests.servers import Server

pytestmark = pytest.mark.e2e

JOBS = "/aws/sagemaker/ProcessingJobs"
KEY, SECRET = "AKIDLOGS", "logs-secret"
CLOCK_MS = 1795588200000  # the clock file's 2026-11-25T06:30:00Z, in epoch milliseconds
PRINTING_ENTRY_POINT = '''
import os

import joblib


def model_fn(model_dir):
    print("model_fn: loading model.joblib")
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    print(f"predict_fn: scoring {len(data)} rows")
    return model.predict_proba(data)
'''


def logs_of(server: Server, region: str = "us-east-1", key: str = KEY, secret: str = SECRET) -> Any:
    return server.client(region, access_key=key, secret=secret, service="logs")


@pytest.fixture
def signed_server(make_server: Any, tmp_path: Path) -> Server:
    """A server with signatures verified (two accounts), its clock file at 2026-11-25T06:30:00Z."""
    secrets = tmp_path / "credentials.ini"
    secrets.write_text(f"[{KEY}]\nsecret = {SECRET}\naccount = 000000000000\n"
                       "[AKIDOTHER]\nsecret = other-secret\naccount = 111122223333\n")
    server, _ = serve(make_server, tmp_path, "--credentials", str(secrets))
    return server


# One backend: the SDK waits 30 s between its looks at the job's status; the tokens' secret is the database's,
# and tests/control/test_log_events.py reads them on both.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_jobs_log_through_boto3_and_the_sdks_tailing(signed_server: Server, tmp_path: Path,
                                                       fitted: LogisticRegression,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    server = signed_server
    client, logs = server.client(access_key=KEY, secret=SECRET), logs_of(server)
    assert error_of(logs.describe_log_streams, logGroupName=JOBS) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)
    stage(server, tmp_path, fitted)
    client.create_model(**model("churn", image=SKLEARN_IMAGE))
    client.create_processing_job(**job("baseline"))

    # The SDK tails the job's log until the job ends, exactly as against AWS: only the endpoint differs.
    for name, value in {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL_SAGEMAKER": server.url, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": server.url,
                        "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}.items():
        monkeypatch.setenv(name, value)
    import sagemaker

    session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="bucket")
    capsys.readouterr()
    session.logs_for_processing_job("baseline", wait=True, poll=1)
    tailed = capsys.readouterr().out
    assert "job=baseline" in tailed and "Completed: Job completed successfully" in tailed, tailed

    described = finished(client, "baseline")
    stream = f"baseline/algo-1-{int(described['ProcessingStartTime'].timestamp())}"
    streams = logs.describe_log_streams(logGroupName=JOBS, logStreamNamePrefix="baseline/",
                                        orderBy="LogStreamName", limit=1)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]
    events = logs.get_log_events(logGroupName=JOBS, logStreamName=stream, startFromHead=True)
    messages = [e["message"] for e in events["events"]]
    assert messages[0].startswith("job=baseline ") and messages[-1].startswith("Completed: ")
    assert {e["timestamp"] for e in events["events"]} == {CLOCK_MS}  # the server's clock, not the system's
    assert "".join(line + "\n" for line in messages) in tailed.replace("\n\n", "\n")  # the SDK printed them all
    again = logs.get_log_events(logGroupName=JOBS, logStreamName=stream, nextToken=events["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == events["nextForwardToken"]

    for other in (logs_of(server, "eu-west-1"), logs_of(server, key="AKIDOTHER", secret="other-secret")):
        assert error_of(other.describe_log_streams, logGroupName=JOBS)[0] == "ResourceNotFoundException"
    assert error_of(logs.get_log_events, logGroupName=JOBS, logStreamName="nope:*")[:2] == (
        "InvalidParameterException", "1 validation error detected: Value 'nope:*' at 'logStreamName' failed to "
                                     "satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")


def test_an_endpoints_worker_log_through_the_filter_paginator(signed_server: Server, tmp_path: Path,
                                                              fitted: LogisticRegression) -> None:  # noqa: F811
    server = signed_server
    client, logs = server.client(access_key=KEY, secret=SECRET), logs_of(server)
    deploy_sklearn(server, client, tmp_path, fitted, "scorer", entry_point=PRINTING_ENTRY_POINT)
    assert wait_for(client, "scorer")["EndpointStatus"] == "InService"
    runtime = boto3.client("sagemaker-runtime", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                           config=botocore.config.Config(retries={"max_attempts": 0}))
    runtime.invoke_endpoint(EndpointName="scorer", ContentType="text/csv", Body=csv(X[:3]))

    group = "/aws/sagemaker/Endpoints/scorer"
    # What the SDK's deploy(wait=True) reads while an endpoint comes up: the AllTraffic variant's streams.
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, logStreamNamePrefix="AllTraffic/")
    events = [event for page in pages for event in page["events"]]
    messages = [e["message"] for e in events]
    assert messages[0].startswith("Loading the model: image ")
    assert "model_fn: loading model.joblib" in messages  # the model's own output, as a container's stdout
    assert "The model is loaded; serving requests." in messages and "predict_fn: scoring 3 rows" in messages
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].startswith("AllTraffic/i-") and {e["logStreamName"] for e in events} == {
        stream["logStreamName"]}
    assert {e["timestamp"] for e in events} == {CLOCK_MS}
    found = logs.filter_log_events(logGroupName=group, filterPattern='"scoring 3 rows"')["events"]
    assert [e["message"] for e in found] == ["predict_fn: scoring 3 rows"]
