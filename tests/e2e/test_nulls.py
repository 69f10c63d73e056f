"""JSON `null` members read as absent, as SageMaker's JSON protocol reads them: never a 500, never stored."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clarimon.api.operations import SAGEMAKER
from clarimon.api.service_model import operation_model
from tests.documents import endpoint_config, full_definition, model
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member, list element and map value of a document, as key/index paths."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


def nulled(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    target: Any = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = None
    return copied


def has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(v is None or has_null(v) for v in value)
    return False


def test_every_top_level_member_of_every_operation_may_be_null(shared_server: Server, region: str) -> None:
    answers: dict[str, tuple[int, str]] = {}
    for operation in SAGEMAKER:
        shape = operation_model(operation).input_shape
        members = list(shape.members) if shape is not None else []
        status, body = shared_server.post(operation, json.dumps(dict.fromkeys(members)).encode(), region)
        answers[operation] = (status, body.get("__type", ""))
    failures = {op: answer for op, answer in answers.items() if answer[0] >= 500}
    assert not failures, failures
    for operation in SAGEMAKER:
        shape = operation_model(operation).input_shape
        if operation.startswith("List") and shape is not None and not shape.required_members:
            assert answers[operation][0] == 200, (operation, answers[operation])  # a null is as absent
        elif shape is not None and shape.required_members:
            assert answers[operation] == (400, "ValidationException"), (operation, answers[operation])


def test_max_results_null_is_the_default(shared_server: Server, region: str) -> None:
    status, body = shared_server.post("ListModels", b'{"MaxResults": null, "NextToken": null}', region)
    assert (status, body) == (200, {"Models": []})


@pytest.mark.parametrize("document", ["definition", "model", "config"])
def test_each_member_of_a_create_request_may_be_null(shared_server: Server, region: str, document: str) -> None:
    table: dict[str, tuple[str, Callable[[str], dict[str, Any]], str, str]] = {
        "definition": ("CreateModelExplainabilityJobDefinition", full_definition, "JobDefinitionName",
                       "DescribeModelExplainabilityJobDefinition"),
        "model": ("CreateModel", model, "ModelName", "DescribeModel"),
        "config": ("CreateEndpointConfig", lambda name: endpoint_config(name, "nulls-model"), "EndpointConfigName",
                   "DescribeEndpointConfig"),
    }
    operation, make, name_member, describe = table[document]
    assert shared_server.post("CreateModel", json.dumps(model("nulls-model")).encode(), region)[0] == 200
    template = make("template")
    codes: dict[int, int] = {}
    for serial, path in enumerate(paths(template)):
        if path == (name_member,):
            continue
        name = f"n{serial}"
        request = nulled(make(name), path)
        status, body = shared_server.post(operation, json.dumps(request).encode(), region)
        codes[status] = codes.get(status, 0) + 1
        assert status in (200, 400), (path, status, body)
        if status == 400:
            assert body["__type"] in ("ValidationException", "SerializationException"), (path, body)
            continue
        status, described = shared_server.post(describe, json.dumps({name_member: name}).encode(), region)
        assert status == 200 and not has_null(described), (path, described)
    assert codes.get(200) and codes.get(400), codes  # some nulls are harmless, some remove a required member


def test_a_null_list_element_is_dropped(shared_server: Server, region: str) -> None:
    assert shared_server.post("CreateModel", json.dumps(model("m")).encode(), region)[0] == 200
    config = endpoint_config("with-null-option", "m")
    config["DataCaptureConfig"]["CaptureOptions"].append(None)
    assert shared_server.post("CreateEndpointConfig", json.dumps(config).encode(), region)[0] == 200
    status, described = shared_server.post("DescribeEndpointConfig",
                                           b'{"EndpointConfigName": "with-null-option"}', region)
    assert described["DataCaptureConfig"]["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    only_null = endpoint_config("only-null-option", "m")
    only_null["DataCaptureConfig"]["CaptureOptions"] = [None]
    status, body = shared_server.post("CreateEndpointConfig", json.dumps(only_null).encode(), region)
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "dataCaptureConfig.captureOptions" in body["message"]


def test_a_null_instance_count_does_not_leave_an_endpoint_creating(shared_server: Server, region: str) -> None:
    """The model's archive does not exist: the endpoint must settle (Failed, saying so), not stay Creating."""
    assert shared_server.post("CreateModel", json.dumps(model("absent")).encode(), region)[0] == 200
    config = endpoint_config("null-count", "absent")
    config["ProductionVariants"][0]["InitialInstanceCount"] = None
    assert shared_server.post("CreateEndpointConfig", json.dumps(config).encode(), region)[0] == 200
    status, body = shared_server.post("CreateEndpoint", b'{"EndpointName": "e", "EndpointConfigName": "null-count"}',
                                      region)
    assert status == 200, body

    def settled() -> dict[str, Any] | None:
        described = shared_server.post("DescribeEndpoint", b'{"EndpointName": "e"}', region)[1]
        return described if described["EndpointStatus"] != "Creating" else None

    described = eventually(settled, 30, lambda: "endpoint e still Creating after 30 s")
    assert described["EndpointStatus"] == "Failed" and "model.tar.gz" in described["FailureReason"]
