"""Endpoints and InvokeEndpoint through boto3 against a real server: models really load and answer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import joblib
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from tests.documents import PROBABILITY_ENTRY_POINT, SKLEARN_IMAGE, XGBOOST_IMAGE, endpoint_config, model
from tests.e2e.test_job_definitions import error_of
from tests.servers import Server, eventually, scrape

pytestmark = pytest.mark.e2e

X, Y = load_breast_cancer(return_X_y=True)
X = X[:, :6]
SKLEARN, XGBOOST = SKLEARN_IMAGE, XGBOOST_IMAGE
ENTRY_POINT = PROBABILITY_ENTRY_POINT


def runtime(server: Server, region: str) -> Any:
    return boto3.client("sagemaker-runtime", endpoint_url=server.url, region_name=region,
                        aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
                        config=botocore.config.Config(retries={"max_attempts": 0}))


def wait_for(client: Any, name: str, timeout: float = 90) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        described = dict(client.describe_endpoint(EndpointName=name))
        return described if described["EndpointStatus"] not in ("Creating", "Updating") else None

    return eventually(settled, timeout, lambda: f"{name} still "
                      f"{client.describe_endpoint(EndpointName=name)['EndpointStatus']} after {timeout} s")


def csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


@pytest.fixture(scope="module")
def fitted() -> LogisticRegression:
    return LogisticRegression(max_iter=5000).fit(X, Y)


def deploy_sklearn(server: Server, client: Any, tmp_path: Path, fitted: LogisticRegression, name: str,
                   entry_point: str = ENTRY_POINT) -> None:
    joblib.dump(fitted, tmp_path / "model.joblib")
    (tmp_path / "inference.py").write_text(entry_point)
    archive = package(tmp_path / "model.joblib", "sklearn", tmp_path / "inference.py")
    LocalObjects(server.home / "s3").write(f"s3://bucket/models/{name}/model.tar.gz", archive)
    client.create_model(**model(name, image=SKLEARN))
    client.create_endpoint_config(**endpoint_config(f"{name}-config", name))
    client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config",
                           Tags=[{"Key": "team", "Value": "risk"}])


def test_sklearn_endpoint_serves_the_model(make_server: Any, region: str, tmp_path: Path,
                                           fitted: LogisticRegression) -> None:
    server = make_server()
    client = server.client(region)
    deploy_sklearn(server, client, tmp_path, fitted, "churn")
    assert client.describe_endpoint(EndpointName="churn")["EndpointStatus"] in ("Creating", "InService")
    described = wait_for(client, "churn")
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert described["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == SKLEARN
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": "s3://bucket/data-capture", "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/capture",
    }
    invoke = runtime(server, region).invoke_endpoint
    answer = invoke(EndpointName="churn", Body=csv(X[:20]), ContentType="text/csv", Accept="application/json")
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert answer["ContentType"] == "application/json"
    np.testing.assert_allclose(json.loads(answer["Body"].read()), fitted.predict_proba(X[:20]))
    answer = invoke(EndpointName="churn", Body=json.dumps(X[:3].tolist()), ContentType="application/json",
                    Accept="text/csv", CustomAttributes="trace=1")
    assert answer["CustomAttributes"] == "trace=1"
    rows = [[float(v) for v in line.split(",")] for line in answer["Body"].read().decode().split()]
    np.testing.assert_allclose(rows, fitted.predict_proba(X[:3]))

    listed = client.list_endpoints(StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in listed] == ["churn"]
    assert client.list_endpoints(StatusEquals="Failed")["Endpoints"] == []

    # The runtime's errors.
    for call, code, status in [
        ({"EndpointName": "nowhere", "Body": b"1"}, "ValidationError", 400),
        ({"EndpointName": "churn", "Body": b"1,2\n", "ContentType": "text/csv"}, "ModelError", 424),
        ({"EndpointName": "churn", "Body": b"...", "ContentType": "image/png"}, "ModelError", 424),
        ({"EndpointName": "churn", "Body": b"0" * (6 * 1024 * 1024 + 1), "ContentType": "text/csv"},
         "ValidationError", 400),
    ]:
        with pytest.raises(ClientError) as caught:
            invoke(**call)
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # ... as CloudWatch counts them: requests that reached the variant's model, by the model's own status (a
    # refused content type is a 4xx, rows of the wrong width make the model fail: a 5xx); the API by error code
    families = scrape(server)
    labels = {"region": region, "EndpointName": "churn", "VariantName": "AllTraffic"}
    counted = {family: sum(s.value for s in families[family] if s.name == f"{family}_total"
                           and labels.items() <= s.labels.items())
               for family in ("clarimon_endpoint_invocations", "clarimon_endpoint_invocation_4xx_errors",
                              "clarimon_endpoint_invocation_5xx_errors", "clarimon_endpoint_captured_records")}
    assert counted == {"clarimon_endpoint_invocations": 4, "clarimon_endpoint_invocation_4xx_errors": 1,
                       "clarimon_endpoint_invocation_5xx_errors": 1, "clarimon_endpoint_captured_records": 2}
    api = {s.labels["code"]: s.value for s in families["clarimon_api_requests"]
           if s.name == "clarimon_api_requests_total" and s.labels["operation"] == "InvokeEndpoint"}
    assert api == {"": 2, "ModelError": 2, "ValidationError": 2}

    # A restart brings the endpoint back InService, serving: it says InService at once, so a request that comes
    # while its worker reloads is held until the model answers (not refused with ServiceUnavailable).
    assert server.stop() == 0
    server.start()
    client = server.client(region)
    assert client.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    answer = runtime(server, region).invoke_endpoint(EndpointName="churn", Body=csv(X[:2]),
                                                     ContentType="text/csv", Accept="application/json")
    np.testing.assert_allclose(json.loads(answer["Body"].read()), fitted.predict_proba(X[:2]))

    client.delete_endpoint(EndpointName="churn")
    deadline = time.monotonic() + 30
    while True:  # Deleting while its workers stop, then gone
        try:
            assert client.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Deleting"
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(ClientError) as caught:
        runtime(server, region).invoke_endpoint(EndpointName="churn", Body=csv(X[:1]), ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_xgboost_endpoint_and_update(make_server: Any, region: str, tmp_path: Path,
                                     fitted: LogisticRegression) -> None:
    import xgboost

    server = make_server()
    client = server.client(region)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, Y), 10)
    booster.save_model(tmp_path / "model.ubj")
    LocalObjects(server.home / "s3").write("s3://bucket/models/boosted/model.tar.gz",
                                           package(tmp_path / "model.ubj", "xgboost"))
    client.create_model(**{**model("boosted", image=XGBOOST),
                           "PrimaryContainer": {"Image": XGBOOST,
                                                "ModelDataUrl": "s3://bucket/models/boosted/model.tar.gz"}})
    client.create_endpoint_config(**endpoint_config("boosted-config", "boosted"))
    client.create_endpoint(EndpointName="scores", EndpointConfigName="boosted-config")
    assert wait_for(client, "scores")["EndpointStatus"] == "InService"
    answer = runtime(server, region).invoke_endpoint(EndpointName="scores", Body=csv(X[:5]), ContentType="text/csv")
    np.testing.assert_allclose([float(v) for v in answer["Body"].read().decode().split()],
                               booster.predict(xgboost.DMatrix(X[:5])), rtol=1e-6)

    deploy_sklearn(server, client, tmp_path, fitted, "linear")
    wait_for(client, "linear")

    # Two variants: chosen by weight (B has none), or named by TargetVariant.
    both = endpoint_config("both-config", "boosted")
    both["ProductionVariants"] = [
        {**both["ProductionVariants"][0], "VariantName": "A", "InitialVariantWeight": 1.0},
        {**both["ProductionVariants"][0], "VariantName": "B", "ModelName": "linear", "InitialVariantWeight": 0.0},
    ]
    client.create_endpoint_config(**both)
    client.create_endpoint(EndpointName="split", EndpointConfigName="both-config")
    assert wait_for(client, "split")["EndpointStatus"] == "InService"
    invoke = runtime(server, region).invoke_endpoint
    chosen = {invoke(EndpointName="split", Body=csv(X[:1]), ContentType="text/csv")["InvokedProductionVariant"]
              for _ in range(10)}
    assert chosen == {"A"}
    named = invoke(EndpointName="split", Body=csv(X[:1]), ContentType="text/csv", TargetVariant="B",
                   Accept="application/json")
    assert named["InvokedProductionVariant"] == "B"
    np.testing.assert_allclose(json.loads(named["Body"].read()), fitted.predict_proba(X[:1]))
    with pytest.raises(ClientError) as caught:
        invoke(EndpointName="split", Body=csv(X[:1]), ContentType="text/csv", TargetVariant="C")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    client.update_endpoint(EndpointName="scores", EndpointConfigName="linear-config")
    described = wait_for(client, "scores")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "linear-config")
    answer = runtime(server, region).invoke_endpoint(EndpointName="scores", Body=csv(X[:5]), ContentType="text/csv",
                                                     Accept="application/json")
    np.testing.assert_allclose(json.loads(answer["Body"].read()), fitted.predict_proba(X[:5]))


def test_weights_shift_traffic_between_variants(make_server: Any, region: str, tmp_path: Path,
                                                fitted: LogisticRegression) -> None:
    server = make_server()
    client = server.client(region)
    deploy_sklearn(server, client, tmp_path, fitted, "linear")
    wait_for(client, "linear")
    ab = endpoint_config("ab-config", "linear")
    ab["ProductionVariants"] = [
        {**ab["ProductionVariants"][0], "VariantName": "A", "InitialVariantWeight": 1.0},
        {**ab["ProductionVariants"][0], "VariantName": "B", "InitialVariantWeight": 0.0},
    ]
    client.create_endpoint_config(**ab)
    client.create_endpoint(EndpointName="ab", EndpointConfigName="ab-config")
    before = wait_for(client, "ab")
    invoke = runtime(server, region).invoke_endpoint

    for bad, words in ([{"VariantName": "C", "DesiredWeight": 1.0}], '"C" is/are not present'), (
            [{"VariantName": "A", "DesiredWeight": 0.0}], "greater than 0"), (
            [{"VariantName": "A", "ServerlessUpdateConfig": {"MaxConcurrency": 2}}], "not a serverless variant"):
        code, message, _ = error_of(client.update_endpoint_weights_and_capacities, EndpointName="ab",
                                    DesiredWeightsAndCapacities=bad)
        assert code == "ValidationException" and words in message, message
    unchanged = client.describe_endpoint(EndpointName="ab")
    assert {k: v for k, v in unchanged.items() if k != "ResponseMetadata"} == {
        k: v for k, v in before.items() if k != "ResponseMetadata"}

    arn = client.update_endpoint_weights_and_capacities(EndpointName="ab", DesiredWeightsAndCapacities=[
        {"VariantName": "A", "DesiredWeight": 0.0}, {"VariantName": "B", "DesiredWeight": 1.0,
                                                     "DesiredInstanceCount": 2}])["EndpointArn"]
    assert arn == before["EndpointArn"]
    described = wait_for(client, "ab")
    assert described["EndpointStatus"] == "InService"
    weights = {v["VariantName"]: (v["CurrentWeight"], v["DesiredWeight"], v["CurrentInstanceCount"],
                                  v["DesiredInstanceCount"]) for v in described["ProductionVariants"]}
    assert weights == {"A": (0.0, 0.0, 1, 1), "B": (1.0, 1.0, 2, 2)}
    chosen = {invoke(EndpointName="ab", Body=csv(X[:1]), ContentType="text/csv")["InvokedProductionVariant"]
              for _ in range(10)}
    assert chosen == {"B"}

    # The weights hold across a restart (the endpoint is deployed again with them, not with the config's).
    server.restart()
    client = server.client(region)
    described = wait_for(client, "ab")
    assert {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]} == {"A": 0.0, "B": 1.0}
    invoke = runtime(server, region).invoke_endpoint
    chosen = {eventually(lambda: _answered(invoke, "ab"), 60, lambda: "ab never answered after the restart")
              for _ in range(10)}
    assert chosen == {"B"}
    code, message, _ = error_of(client.update_endpoint_weights_and_capacities, EndpointName="missing",
                                DesiredWeightsAndCapacities=[{"VariantName": "A", "DesiredWeight": 1.0}])
    assert (code, "Could not find endpoint" in message) == ("ValidationException", True)


def _answered(invoke: Any, name: str) -> str | None:
    """The variant that answered, or None while the endpoint's workers are still loading."""
    try:
        return str(invoke(EndpointName=name, Body=csv(X[:1]), ContentType="text/csv")["InvokedProductionVariant"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ServiceUnavailable":
            raise
        return None


def test_unsupported_image_fails_with_its_reason(make_server: Any, region: str) -> None:
    server = make_server()
    client = server.client(region)
    client.create_model(**model("custom", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:latest"))
    LocalObjects(server.home / "s3").write("s3://bucket/models/custom/model.tar.gz", package_empty(server.home))
    client.create_endpoint_config(**endpoint_config("custom-config", "custom"))
    client.create_endpoint(EndpointName="custom", EndpointConfigName="custom-config")
    described = wait_for(client, "custom")
    assert described["EndpointStatus"] == "Failed"
    assert "sagemaker-scikit-learn, sagemaker-xgboost" in described["FailureReason"]
    missing_config = f"arn:aws:sagemaker:{region}:000000000000:endpoint-config/none"
    assert error_of(client.create_endpoint, EndpointName="other", EndpointConfigName="none")[:2] == (
        "ValidationException", f'Could not find endpoint configuration "{missing_config}".'
    )
    assert error_of(client.update_endpoint, EndpointName="custom", EndpointConfigName="custom-config")[0] == (
        "ValidationException"
    )


def package_empty(home: Path) -> bytes:
    (home / "empty.txt").write_text("")
    from clarimon.serving.artifacts import pack

    return pack({"empty.txt": home / "empty.txt"})
