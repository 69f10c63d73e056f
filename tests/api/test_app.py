"""The ASGI app driven directly: internal failures, unsigned requests, health check."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from clarimon.api.app import App
from clarimon.config import Settings
from clarimon.control.context import Context
from clarimon.server import assemble
from clarimon.store import Store


def call(app: App, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    sent: list[MutableMapping[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, content = sent[0], sent[1]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content["body"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'c.db'}")
    opened.upgrade()
    yield opened
    opened.close()


def test_internal_failure_never_leaks_a_traceback(store: Store, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def broken(ctx: Context, request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret detail from deep inside")

    app = assemble(Settings(home=tmp_path, database_url=store.url), store,
              operations={"DescribeModelExplainabilityJobDefinition": broken})
    with caplog.at_level(logging.ERROR, logger="clarimon.api"):
        status, headers, body = call(app, "POST", "/", b'{"JobDefinitionName": "x"}',
                                     {"X-Amz-Target": "SageMaker.DescribeModelExplainabilityJobDefinition"})
    assert status == 500
    error = json.loads(body)
    assert error["__type"] == "InternalFailure"
    assert "secret" not in body.decode() and "Traceback" not in body.decode()
    assert "secret detail from deep inside" in caplog.text  # the operator's log has it
    assert headers["x-amzn-requestid"] in caplog.text


def test_unsigned_request_acts_in_the_default_region_and_account(store: Store, tmp_path: Path) -> None:
    app = assemble(Settings(home=tmp_path, database_url=store.url, region="eu-north-1", account="123456789012"), store)
    request = {"JobDefinitionName": "unsigned",
               "ModelExplainabilityAppSpecification": {"ImageUri": "i", "ConfigUri": "s3://b/c"},
               "ModelExplainabilityJobInput": {"EndpointInput": {"EndpointName": "e", "LocalPath": "/p"}},
               "ModelExplainabilityJobOutputConfig": {"MonitoringOutputs": [
                   {"S3Output": {"S3Uri": "s3://b/o", "LocalPath": "/o"}}]},
               "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 1}},
               "RoleArn": "arn:aws:iam::123456789012:role/r"}
    status, _, body = call(app, "POST", "/", json.dumps(request).encode(),
                           {"X-Amz-Target": "SageMaker.CreateModelExplainabilityJobDefinition"})
    assert status == 200
    assert json.loads(body)["JobDefinitionArn"] == (
        "arn:aws:sagemaker:eu-north-1:123456789012:model-explainability-job-definition/unsigned"
    )


def test_ping_and_unknown_paths(store: Store, tmp_path: Path) -> None:
    app = assemble(Settings(home=tmp_path, database_url=store.url), store)
    assert call(app, "GET", "/ping")[0] == 200
    status, _, body = call(app, "GET", "/nowhere")
    assert status == 404 and json.loads(body)["__type"] == "UnknownOperationException"


def test_cloudwatch_logs_requests_share_the_port_and_answer_in_that_service_s_codes(store: Store,
                                                                                   tmp_path: Path) -> None:
    app = assemble(Settings(home=tmp_path, database_url=store.url), store)

    def logs(operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, _, body = call(app, "POST", "/", json.dumps(request).encode(),
                               {"X-Amz-Target": f"Logs_20140328.{operation}"})
        return status, json.loads(body)

    assert logs("GetLogEvents", {"logGroupName": "/aws/sagemaker/ProcessingJobs"}) == (400, {
        "__type": "InvalidParameterException",
        "message": "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: "
                   "Member must not be null"})
    assert logs("DescribeLogStreams", {"logGroupName": "/aws/sagemaker/ProcessingJobs"}) == (400, {
        "__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
    status, answer = logs("PutLogEvents", {})
    assert (status, answer["__type"]) == (400, "UnknownOperationException")
    status, _, body = call(app, "POST", "/", b"{}", {"X-Amz-Target": "SageMaker.DescribeLogStreams"})
    assert (status, json.loads(body)["__type"]) == (400, "UnknownOperationException")  # not a SageMaker operation
