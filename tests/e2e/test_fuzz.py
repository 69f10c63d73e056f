"""Fuzzing every served operation from botocore's model: valid, invalid, null and edge values; never a 500, never
a hang.

Requests are generated from each operation's input shape (members present or not, values inside and just
outside their constraints, nulls, values of the wrong JSON type, complete documents with one member changed)
and sent raw to a real server; each must be answered within REQUEST_SECONDS with a status below 500.
`CLARIMON_FUZZ_EXAMPLES` sets the examples per operation (default 25: the suite's bounded run); the README's
development notes give a longer run.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import urllib.parse
import uuid
from collections import Counter
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clarimon.api.operations import LOGS, SAGEMAKER
from clarimon.api.service_model import operation_model
from clarimon.serving import log_files
from clarimon.serving.log_files import LogWriter
from tests.documents import endpoint_config, full_definition, minimal_definition, model
from tests.servers import Server

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("CLARIMON_FUZZ_EXAMPLES", "25"))
REQUEST_SECONDS = 20.0
MAX_DEPTH = 5
CODES: Counter[int] = Counter()  # every answer's status, over the session (printed by conftest)

_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=8),
                          st.floats(allow_nan=False, allow_infinity=False))
_NAMES = st.sampled_from(["a", "fuzz", "A-1", "churn-endpoint", "m", "c", "d", "-", "", "x" * 64, "x" * 300])


def _string(shape: Shape) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    low, high = meta.get("min", 0), meta.get("max", 256)
    edges = [s for s in ("a" * max(low - 1, 0), "a" * max(low, 1), "a" * min(high, 2048), "a" * (high + 1))
             if len(s) <= 4096]
    options = [st.sampled_from(edges), _NAMES, st.text(max_size=20)]
    if "enum" in meta:
        options.insert(0, st.sampled_from(meta["enum"]))
    if "S3Uri" in shape.name or "Uri" in shape.name:
        options.insert(0, st.sampled_from(["s3://bucket/x", "s3://bucket", "s3://Bad_Bucket/x", "https://h/x",
                                           "s3://bucket/../x"]))
    if "Offset" in shape.name or "Time" in shape.name or "Duration" in shape.name:
        options.insert(0, st.sampled_from(["-PT1H", "-PT2H", "PT0H", "-P1D", "-P9999999999D", "P", "-PT"]))
    if "Expression" in shape.name:
        options.insert(0, st.sampled_from(["cron(0 * ? * * *)", "NOW", "cron(0 25 ? * * *)", "cron(0 1/0 ? * * *)"]))
    return st.one_of(*options)


def _number(shape: Shape) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    edges = [v for v in (low, high) if v is not None]
    edges += [v - 1 for v in edges] + [v + 1 for v in edges] + [0, -1, 2**31, 2**63, -(2**63) - 1]
    if shape.type_name in ("double", "float"):
        return st.one_of(st.sampled_from(edges), st.floats(allow_nan=False, allow_infinity=False))
    return st.one_of(st.sampled_from(edges), st.integers(-(2**64), 2**64), st.just(1.5))


def values(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for a member of `shape`: mostly of its type (inside and just outside its constraints), sometimes
    null or of another JSON type."""
    if depth > MAX_DEPTH:
        return _JSON_SCALARS
    typed: st.SearchStrategy[Any]
    if isinstance(shape, StructureShape):
        typed = structures(shape, depth + 1)
    elif isinstance(shape, ListShape):
        typed = st.lists(values(shape.member, depth + 1), max_size=3)
    elif isinstance(shape, MapShape):
        typed = st.dictionaries(_string(shape.key), values(shape.value, depth + 1), max_size=3)
    elif shape.type_name == "string":
        typed = _string(shape)
    elif shape.type_name in ("integer", "long", "double", "float"):
        typed = _number(shape)
    elif shape.type_name == "boolean":
        typed = st.booleans()
    elif shape.type_name == "timestamp":
        typed = st.one_of(st.floats(-1e12, 1e12), st.sampled_from(["2026-11-25T10:00:00Z", "yesterday", "", "1e400"]))
    else:
        typed = _JSON_SCALARS
    return st.one_of(typed, typed, typed, _JSON_SCALARS)  # three in four of the right type


def structures(shape: StructureShape, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    required = set(shape.required_members)
    members = {name: values(member, depth) for name, member in shape.members.items()}
    return st.fixed_dictionaries({k: v for k, v in members.items() if k in required},
                                 optional={k: v for k, v in members.items() if k not in required})


def _documents(operation: str) -> list[dict[str, Any]]:
    """Complete valid requests of the create operations (and of the logs operations, on a stream that exists),
    which random generation seldom reaches."""
    stream = {"logGroupName": "/aws/sagemaker/ProcessingJobs", "logStreamName": "fuzz/algo-1-1"}
    documents: dict[str, list[dict[str, Any]]] = {
        "GetLogEvents": [stream, {**stream, "nextToken": "f/AAAA", "startFromHead": True}],
        "FilterLogEvents": [{"logGroupName": stream["logGroupName"], "logStreamNamePrefix": "fuzz/",
                             "filterPattern": '?ERROR "a phrase" -x'}],
        "DescribeLogStreams": [{"logGroupName": stream["logGroupName"], "orderBy": "LastEventTime"}],
        "CreateModelExplainabilityJobDefinition": [full_definition("fuzz"), full_definition("fuzz", "batch"),
                                                   minimal_definition("fuzz")],
        "CreateModel": [model("m")],
        "CreateEndpointConfig": [endpoint_config("c", "m")],
        "CreateEndpoint": [{"EndpointName": "fuzz", "EndpointConfigName": "c"}],
        "CreateMonitoringSchedule": [{"MonitoringScheduleName": "fuzz", "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "fuzz",
            "MonitoringType": "ModelExplainability"}}],
    }
    return documents.get(operation, [])


def _mutated(document: dict[str, Any], shape: StructureShape) -> st.SearchStrategy[dict[str, Any]]:
    """`document` with one top-level member replaced by a generated value (or removed)."""
    names = sorted(shape.members)

    def change(name: str, value: Any, remove: bool) -> dict[str, Any]:
        changed = copy.deepcopy(document)
        if remove:
            changed.pop(name, None)
        else:
            changed[name] = value
        return changed

    return st.sampled_from(names).flatmap(
        lambda name: st.builds(change, st.just(name), values(shape.members[name]), st.booleans()))


def requests(operation: str, service: str = "sagemaker") -> st.SearchStrategy[Any]:
    shape = operation_model(operation, service).input_shape
    if shape is None:
        return st.just({})
    strategies: list[st.SearchStrategy[Any]] = [structures(shape)]
    for document in _documents(operation):
        strategies += [st.just(document), _mutated(document, shape)]
    return st.one_of(*strategies)


def send(server: Server, path: str, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_SECONDS)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    CODES[response.status] += 1
    assert response.status < 500, (path, body[:2000], response.status, answer[:2000])
    # The server runs anonymous: a 403 would be a request refused before any operation saw it (a region it does
    # not serve), and the fuzzing would test nothing.
    assert response.status != 403, (path, answer[:2000])
    return response.status


def _headers(region: str, service: str = "sagemaker") -> dict[str, str]:
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20261201/{region}/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


@pytest.mark.parametrize("operation", sorted(SAGEMAKER))
def test_no_operation_answers_500_or_hangs(shared_server: Server, operation: str) -> None:
    region = f"test-fuzz-{uuid.uuid4().hex[:8]}"  # a region the test servers serve (`test-*`)
    headers = {**_headers(region), "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"SageMaker.{operation}"}
    setup = [("CreateModel", model("m")), ("CreateEndpointConfig", endpoint_config("c", "m")),
             ("CreateModelExplainabilityJobDefinition", full_definition("fuzz"))]
    for name, document in setup:  # resources the generated requests may name
        send(shared_server, "/", json.dumps(document).encode(), {**headers, "X-Amz-Target": f"SageMaker.{name}"})

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests(operation))
    def answers(request: Any) -> None:
        send(shared_server, "/", json.dumps(request).encode(), headers)

    answers()


@pytest.mark.parametrize("operation", sorted(LOGS))
def test_no_logs_operation_answers_500_or_hangs(shared_server: Server, operation: str) -> None:
    region = f"test-fuzz-{uuid.uuid4().hex[:8]}"
    headers = {**_headers(region, "logs"), "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"Logs_20140328.{operation}"}
    writer = LogWriter(log_files.job_stream(shared_server.home, "000000000000", region, "fuzz", 1.0), lambda: 1.0)
    for line in ("first", "ERROR a phrase", "last"):  # a stream the generated requests may read
        writer(line)
    writer.close()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests(operation, "logs"))
    def answers(request: Any) -> None:
        send(shared_server, "/", json.dumps(request).encode(), headers)

    answers()


@settings(max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@example(name="\x00", body=b"", content_type="text/csv", target=None)  # was a 500 on PostgreSQL (NUL in a key)
@given(name=st.one_of(_NAMES, st.text(min_size=1, max_size=70)), body=st.binary(max_size=64),
       content_type=st.one_of(st.sampled_from(["text/csv", "application/json", ""]), st.text(max_size=20)),
       target=st.one_of(st.none(), st.text(max_size=10)))
def test_invoke_endpoint_never_answers_500_or_hangs(shared_server: Server, name: str, body: bytes,
                                                     content_type: str, target: str | None) -> None:
    kind = content_type.encode("latin-1", "replace").decode("latin-1")
    headers = {**_headers("test-fuzz-runtime"), "Content-Type": kind}
    headers = {k: v for k, v in headers.items() if "\n" not in v and "\r" not in v}
    if target is not None and target.isprintable() and target.isascii():
        headers["X-Amzn-SageMaker-Target-Variant"] = target
    send(shared_server, f"/endpoints/{urllib.parse.quote(name, safe='')}/invocations", body, headers)
