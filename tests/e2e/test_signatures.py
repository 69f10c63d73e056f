"""Signature Version 4 verified by a real server started with `--credentials`: boto3, the AWS CLI and an endpoint's
runtime work unchanged with the right secret; every other caller gets AWS's answer and changes nothing."""

from __future__ import annotations

import datetime
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sklearn.linear_model import LogisticRegression

from tests.documents import ROLE, SKLEARN_IMAGE, full_definition, minimal_definition
from tests.e2e.test_endpoints import X, csv, deploy_sklearn, fitted, wait_for  # noqa: F401 (fixture)
from tests.e2e.test_job_definitions import error_of
from tests.servers import Server

pytestmark = pytest.mark.e2e

CREDENTIALS = {"AKIDALICE": {"secret": "alice-secret", "account": "111111111111"},
               "AKIDBOB": {"secret": "bob-secret", "account": "222222222222"}}
DESCRIBE = "SageMaker.DescribeModelExplainabilityJobDefinition"


@pytest.fixture
def signed_server(make_server: Any, tmp_path: Path) -> Server:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(CREDENTIALS))
    server: Server = make_server("--credentials", str(path))
    return server


def alice(server: Server, region: str, service: str = "sagemaker") -> Any:
    return server.client(region, access_key="AKIDALICE", secret="alice-secret", service=service)


def send(server: Server, path: str, headers: dict[str, str], body: bytes = b"{}") -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        conn.close()


def signed_headers(server: Server, path: str, body: bytes, *, key: str = "AKIDALICE", secret: str = "alice-secret",
                   region: str = "us-east-1", target: str = DESCRIBE,
                   when: datetime.datetime | None = None) -> dict[str, str]:
    """Headers of a request signed as botocore signs it, at `when` (default now)."""
    request = AWSRequest(method="POST", url=f"{server.url}{path}", data=body,
                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    signer = SigV4Auth(Credentials(key, secret), "sagemaker", region)
    stamp = (when or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = stamp
    request.context["timestamp"] = stamp
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    scope = signer.scope(request)
    request.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={scope}, "
                                        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, "
                                        f"Signature={signature}")
    return dict(request.headers.items())


def test_boto3_with_real_credentials_works_and_accounts_stay_apart(signed_server: Server, region: str) -> None:
    client = alice(signed_server, region)
    arn = client.create_model_explainability_job_definition(**minimal_definition("mine"))["JobDefinitionArn"]
    assert arn == f"arn:aws:sagemaker:{region}:111111111111:model-explainability-job-definition/mine"
    assert client.describe_model_explainability_job_definition(JobDefinitionName="mine")["JobDefinitionArn"] == arn
    # Bob, signing properly with his own key, is another account: Alice's resources do not exist for him.
    bob = signed_server.client(region, access_key="AKIDBOB", secret="bob-secret")
    assert error_of(bob.describe_model_explainability_job_definition, JobDefinitionName="mine")[0] == (
        "ResourceNotFound")
    assert error_of(bob.delete_model_explainability_job_definition, JobDefinitionName="mine")[0] == (
        "ResourceNotFound")
    assert error_of(bob.list_tags, ResourceArn=arn)[0] == "ValidationException"
    assert bob.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []
    # Nor are her buckets: a model of his with its archive in her bucket is refused when he creates it.
    code, message, status = error_of(bob.create_model, ModelName="stolen", ExecutionRoleArn=ROLE,
                                     PrimaryContainer={"Image": SKLEARN_IMAGE,
                                                       "ModelDataUrl": "s3://bucket/models/mine/model.tar.gz"})
    assert (code, status) == ("AccessDeniedException", 400) and "111111111111" not in message
    assert error_of(bob.describe_model, ModelName="stolen")[0] == "ValidationException"  # nothing stored
    # Bob naming Alice's key without her secret (today's attack: a zero signature) is refused, and changes nothing.
    forged = signed_server.client(region, access_key="AKIDALICE", secret="bob-secret")
    assert error_of(forged.delete_model_explainability_job_definition, JobDefinitionName="mine") == (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.", 403)
    assert client.describe_model_explainability_job_definition(JobDefinitionName="mine")["JobDefinitionArn"] == arn
    log = signed_server.log()
    assert "Signature Version 4 verified on every route" in log and "alice-secret" not in log


def test_aws_cli_with_real_credentials_works(signed_server: Server, region: str, tmp_path: Path) -> None:
    spec = tmp_path / "definition.json"
    spec.write_text(json.dumps(full_definition("from-cli")))

    def aws(secret: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDALICE", "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        return subprocess.run([str(Path(sys.executable).parent / "aws"), "sagemaker", *args, "--endpoint-url",
                               signed_server.url, "--output", "json"], capture_output=True, text=True, env=env,
                              timeout=120)

    created = aws("alice-secret", "create-model-explainability-job-definition", "--cli-input-json", f"file://{spec}")
    assert created.returncode == 0, created.stderr
    assert ":111111111111:" in json.loads(created.stdout)["JobDefinitionArn"]
    listed = aws("alice-secret", "list-model-explainability-job-definitions")
    assert [s["MonitoringJobDefinitionName"] for s in json.loads(listed.stdout)["JobDefinitionSummaries"]] == [
        "from-cli"]
    refused = aws("wrong", "list-model-explainability-job-definitions")
    assert refused.returncode != 0 and "InvalidSignatureException" in refused.stderr


def test_each_signature_error_over_raw_http(signed_server: Server) -> None:
    body = json.dumps({"JobDefinitionName": "none"}).encode()
    plain = {"X-Amz-Target": DESCRIBE, "Content-Type": "application/x-amz-json-1.1"}
    now = datetime.datetime.now(datetime.UTC)
    good = signed_headers(signed_server, "/", body)
    cases: list[tuple[dict[str, str], bytes, str, str]] = [
        (plain, body, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        (signed_headers(signed_server, "/", body, key="AKIDNOBODY"), body, "UnrecognizedClientException",
         "The security token included in the request is invalid."),
        (signed_headers(signed_server, "/", body, secret="wrong"), body, "InvalidSignatureException",
         "The request signature we calculated does not match"),
        (good, body.replace(b"none", b"nonf"), "InvalidSignatureException",
         "The request signature we calculated does not match"),
        ({**good, "X-Amz-Target": "SageMaker.DeleteModelExplainabilityJobDefinition"}, body,
         "InvalidSignatureException", "The request signature we calculated does not match"),
        (signed_headers(signed_server, "/", body, when=now - datetime.timedelta(minutes=20)), body,
         "InvalidSignatureException", "Signature expired: "),
        (signed_headers(signed_server, "/", body, when=now + datetime.timedelta(minutes=20)), body,
         "InvalidSignatureException", "Signature not yet current: "),
        (signed_headers(signed_server, "/", body, region="mars-east-1"), body, "InvalidSignatureException",
         "Credential should be scoped to a valid region, not 'mars-east-1'."),
        ({**plain, "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDALICE/20261201/us-east-1/sagemaker/aws4_request"},
         body, "IncompleteSignatureException", "Authorization header requires 'Signature' parameter."),
        ({**plain, "Authorization": "Basic YWxpY2U6c2VjcmV0"}, body, "IncompleteSignatureException",
         "Unsupported AWS 'algorithm'"),
    ]
    for headers, sent, code, message in cases:
        status, _, payload = send(signed_server, "/", headers, sent)
        answer = json.loads(payload)
        assert (status, answer["__type"]) == (403, code), (headers, answer)
        assert answer["message"].startswith(message), answer
    status, _, payload = send(signed_server, "/", good, body)
    assert (status, json.loads(payload)["__type"]) == (400, "ResourceNotFound")  # the right signature passes


def test_huge_authorization_headers_are_answered_quickly(signed_server: Server) -> None:
    plain = {"X-Amz-Target": DESCRIBE, "Content-Type": "application/x-amz-json-1.1"}
    # 88 KB (the header that froze the old regex for seconds) is past the server's header limit: 431 at once;
    # 60 KB is within it and reaches the parser, which refuses it without reading it through.
    for size, status_expected in ((88_000, 431), (60_000, 403)):
        started = time.monotonic()
        status, _, payload = send(signed_server, "/", {**plain, "Authorization": "AWS4-HMAC-SHA256 " +
                                                       "Credential=a/" * (size // 13)})
        assert status == status_expected
        assert time.monotonic() - started < 1.0
        if status == 403:
            assert json.loads(payload)["__type"] == "IncompleteSignatureException"
    assert send(signed_server, "/", signed_headers(signed_server, "/", b"{}",
                                                   target="SageMaker.ListModels"))[0] == 200


def test_ping_stays_open(signed_server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", signed_server.port, timeout=10)
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200
    conn.close()


def test_runtime_is_signed_and_answers_in_its_own_protocol(signed_server: Server, region: str, tmp_path: Path,
                                                            fitted: LogisticRegression) -> None:  # noqa: F811
    client = alice(signed_server, region)
    deploy_sklearn(signed_server, client, tmp_path, fitted, "signed")
    assert wait_for(client, "signed")["EndpointStatus"] == "InService"
    answer = alice(signed_server, region, "sagemaker-runtime").invoke_endpoint(
        EndpointName="signed", Body=csv(X[:2]), ContentType="text/csv")
    assert len(json.loads(answer["Body"].read())) == 2
    bob = signed_server.client(region, access_key="AKIDBOB", secret="bob-secret", service="sagemaker-runtime")
    code, message, status = error_of(bob.invoke_endpoint, EndpointName="signed", Body=csv(X[:2]),
                                     ContentType="text/csv")
    assert (code, status) == ("ValidationError", 400) and "not found" in message  # another account's endpoint
    forged = signed_server.client(region, access_key="AKIDALICE", secret="bob-secret", service="sagemaker-runtime")
    assert error_of(forged.invoke_endpoint, EndpointName="signed", Body=csv(X[:2]), ContentType="text/csv")[::2] == (
        "InvalidSignatureException", 403)
    path = "/endpoints/signed/invocations"
    status, headers, payload = send(signed_server, path, {"Content-Type": "text/csv"}, csv(X[:1]))
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert json.loads(payload)["message"] == "Missing Authentication Token"


def test_anonymous_mode_says_so_loudly_and_keeps_working(make_server: Any, region: str) -> None:
    server = make_server()
    assert "authentication: NONE (anonymous mode)" in server.log()
    assert server.client(region).list_models()["Models"] == []
    status, answer = server.post("ListModels", b"{}", region="mars-east-1")
    assert (status, answer["__type"]) == (403, "InvalidSignatureException")  # unknown regions are refused anyway
