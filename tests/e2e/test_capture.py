"""Data capture end to end: endpoint traffic lands as SageMaker's JSON Lines, locally or on S3."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path
from typing import Any

import boto3
import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from tests.documents import endpoint_config, model
from tests.e2e.test_endpoints import SKLEARN, csv, runtime, wait_for
from tests.servers import eventually, moto_server

pytestmark = pytest.mark.e2e

IRIS = load_iris()
FITTED = LogisticRegression(max_iter=2000).fit(IRIS.data, IRIS.target)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def archive(tmp_path: Path) -> bytes:
    joblib.dump(FITTED, tmp_path / "model.joblib")
    return package(tmp_path / "model.joblib", "sklearn")


def deploy(client: Any, sampling: int) -> None:
    client.create_model(**model("iris", image=SKLEARN) | {"PrimaryContainer": {
        "Image": SKLEARN, "ModelDataUrl": "s3://bucket/models/iris/model.tar.gz"}})
    config = endpoint_config("iris-config", "iris")
    config["DataCaptureConfig"]["InitialSamplingPercentage"] = sampling
    client.create_endpoint_config(**config)
    client.create_endpoint(EndpointName="iris", EndpointConfigName="iris-config")
    assert wait_for(client, "iris")["EndpointStatus"] == "InService"


def send(server: Any, region: str, count: int) -> None:
    invoke = runtime(server, region).invoke_endpoint
    for i in range(count):
        invoke(EndpointName="iris", Body=csv(IRIS.data[i : i + 1]), ContentType="text/csv",
               Accept="application/json", InferenceId=f"request-{i}")


def parse(bodies: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for body in bodies for line in body.decode().splitlines()]


def check(records: list[dict[str, Any]], count: int) -> None:
    assert sorted(r["eventMetadata"]["inferenceId"] for r in records) == sorted(f"request-{i}" for i in range(count))
    for entry in records:
        sent = entry["captureData"]["endpointInput"]
        answered = entry["captureData"]["endpointOutput"]
        assert (sent["encoding"], sent["mode"], sent["observedContentType"]) == ("CSV", "INPUT", "text/csv")
        assert (answered["encoding"], answered["mode"]) == ("JSON", "OUTPUT")
        row = np.array([[float(v) for v in sent["data"].split(",")]])
        assert json.loads(answered["data"]) == FITTED.predict(row).tolist()
        assert entry["eventMetadata"]["inferenceTime"].endswith("Z")
        assert entry["eventVersion"] == "0"


def test_capture_to_the_local_folder_loses_nothing_on_a_clean_stop(make_server: Any, region: str,
                                                                   tmp_path: Path) -> None:
    server = make_server("--capture-flush-seconds", "3600")  # nothing is written before the stop
    LocalObjects(server.home / "s3").write("s3://bucket/models/iris/model.tar.gz", archive(tmp_path))
    client = server.client(region)
    deploy(client, sampling=100)
    send(server, region, 12)
    assert server.stop() == 0
    folder = server.home / "s3" / "bucket" / "data-capture" / "iris" / "AllTraffic"
    files = sorted(folder.rglob("*.jsonl"))
    assert files, "no capture file was written"
    assert all(len(f.relative_to(folder).parts) == 5 for f in files)  # yyyy/mm/dd/hh/<file>
    check(parse([f.read_bytes() for f in files]), 12)
    assert not list(folder.rglob(".*"))  # no partial files


def test_capture_to_an_s3_compatible_server(make_server: Any, region: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with moto_server() as s3_url:
        s3 = boto3.client("s3", endpoint_url=s3_url)
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="models/iris/model.tar.gz", Body=archive(tmp_path))
        server = make_server("--s3-endpoint-url", s3_url, "--capture-flush-seconds", "0.2")
        client = server.client(region)
        deploy(client, sampling=100)
        send(server, region, 5)
        assert server.stop() == 0
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bucket", Prefix="data-capture/iris/")["Contents"]]
        check(parse([s3.get_object(Bucket="bucket", Key=k)["Body"].read() for k in keys]), 5)
        assert not (server.home / "s3").exists()


def test_sampling_zero_captures_nothing(make_server: Any, region: str, tmp_path: Path) -> None:
    server = make_server("--capture-flush-seconds", "0.2")
    LocalObjects(server.home / "s3").write("s3://bucket/models/iris/model.tar.gz", archive(tmp_path))
    client = server.client(region)
    deploy(client, sampling=0)
    send(server, region, 5)
    assert server.stop() == 0
    assert not (server.home / "s3" / "bucket" / "data-capture").exists()


def test_kill_9_under_capture_traffic_loses_no_answered_record(make_server: Any, region: str,
                                                               tmp_path: Path) -> None:
    """Every request answered 200 before the server is killed has its capture record after the restart, once.

    Before the journal, the records kept in memory for the next flush were lost: 12-14% of those answered."""
    server = make_server("--capture-flush-seconds", "0.5")
    LocalObjects(server.home / "s3").write("s3://bucket/models/iris/model.tar.gz", archive(tmp_path))
    deploy(server.client(region), sampling=100)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    body = csv(IRIS.data[:1])
    headers = {"Content-Type": "text/csv", "Accept": "application/json",
               "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDTEST/20261201/{region}/sagemaker/aws4_request, "
                                "SignedHeaders=host, Signature=0"}

    def sender(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        serial = 0
        while not stop.is_set():
            inference_id = f"c{index}-{serial}"
            serial += 1
            try:
                connection.request("POST", "/endpoints/iris/invocations", body=body,
                                   headers={**headers, "X-Amzn-SageMaker-Inference-Id": inference_id})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this request was never answered
            assert response.status == 200
            with lock:
                answered.append(inference_id)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    eventually(lambda: len(answered) >= 400, 60, lambda: f"only {len(answered)} requests answered in 60 s")
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    server.start()  # the journal is written out before the server answers
    folder = server.home / "s3" / "bucket" / "data-capture" / "iris"
    captured = [r["eventMetadata"]["inferenceId"] for r in parse([f.read_bytes() for f in folder.rglob("*.jsonl")])]
    lost = set(answered) - set(captured)
    assert not lost, f"{len(lost)} of {len(answered)} answered records lost ({len(lost) / len(answered):.1%})"
    assert len(captured) == len(set(captured)), "a record was written twice"
    assert len(captured) - len(answered) <= len(threads)  # at most the requests in flight at the kill
