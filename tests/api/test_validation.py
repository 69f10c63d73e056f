from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clarimon.api.service_model import operation_model
from clarimon.api.validation import render, validate
from clarimon.errors import SerializationException, ValidationException


def shape(operation: str):  # type: ignore[no-untyped-def]
    return operation_model(operation).input_shape


def message(operation: str, request: dict) -> str:  # type: ignore[type-arg]
    with pytest.raises(ValidationException) as caught:
        validate(shape(operation), request)
    return caught.value.message


def test_valid_request_passes() -> None:
    validate(shape("DeleteTags"), {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
                                    "TagKeys": ["a"]})


def test_single_error_uses_singular_and_aws_wording() -> None:
    assert message("DescribeModelExplainabilityJobDefinition", {"JobDefinitionName": "a_b"}) == (
        "1 validation error detected: Value 'a_b' at 'jobDefinitionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )


def test_missing_required_member_is_null() -> None:
    assert message("DescribeModelExplainabilityJobDefinition", {}) == (
        "1 validation error detected: Value null at 'jobDefinitionName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_list_elements_are_one_based_members_and_all_errors_count() -> None:
    text = message("AddTags", {"ResourceArn": "", "Tags": [{"Key": "ok", "Value": "v"}, {"Key": "", "Value": "!"}]})
    assert text.startswith("3 validation errors detected: ")
    assert "Value '' at 'resourceArn' failed to satisfy constraint: Member must satisfy regular expression" in text
    assert "Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must have length greater than " \
           "or equal to 1" in text
    assert "Value '!' at 'tags.2.member.value' failed to satisfy constraint: Member must satisfy regular " in text


def test_numeric_and_enum_constraints() -> None:
    text = message("ListModelExplainabilityJobDefinitions", {"MaxResults": 101, "SortOrder": "Sideways"})
    assert "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or " \
           "equal to 100" in text
    assert "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: " \
           "[Ascending, Descending]" in text


def test_map_keys_and_size() -> None:
    request = {
        "JobDefinitionName": "j",
        "ModelExplainabilityAppSpecification": {"ImageUri": "i", "ConfigUri": "s3://b/c",
                                                "Environment": {"1bad": "v"}},
        "ModelExplainabilityJobInput": {},
        "ModelExplainabilityJobOutputConfig": {"MonitoringOutputs": []},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }
    text = message("CreateModelExplainabilityJobDefinition", request)
    assert "Value '{1bad=v}' at 'modelExplainabilityAppSpecification.environment' failed to satisfy constraint: " \
           "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: " \
           "[a-zA-Z_][a-zA-Z0-9_]*]" in text
    assert "Value '[]' at 'modelExplainabilityJobOutputConfig.monitoringOutputs' failed to satisfy constraint: " \
           "Member must have length greater than or equal to 1" in text


def test_unknown_members_are_ignored() -> None:
    validate(shape("DescribeModelExplainabilityJobDefinition"), {"JobDefinitionName": "ok", "Surprise": [1]})


def test_unicode_classes_in_patterns() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/m"
    validate(shape("AddTags"), {"ResourceArn": arn, "Tags": [{"Key": "équipe 1", "Value": "données"}]})


@pytest.mark.parametrize(
    ("operation", "request_"),
    [
        ("DescribeModelExplainabilityJobDefinition", {"JobDefinitionName": 1}),
        ("ListModelExplainabilityJobDefinitions", {"MaxResults": "10"}),
        ("ListModelExplainabilityJobDefinitions", {"MaxResults": True}),
        ("ListModelExplainabilityJobDefinitions", {"CreationTimeBefore": "yesterday"}),
        ("AddTags", {"ResourceArn": "x", "Tags": {"Key": "k"}}),
    ],
)
def test_wrong_json_types_are_serialization_errors(operation: str, request_: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(SerializationException):
        validate(shape(operation), request_)


def test_every_pattern_in_the_service_model_compiles() -> None:
    from clarimon.api.service_model import service_model
    from clarimon.api.validation import compiled_pattern

    model = service_model("sagemaker")
    patterns = {model.shape_for(name).metadata["pattern"] for name in model.shape_names
                if "pattern" in model.shape_for(name).metadata}
    assert len(patterns) > 100
    for pattern in patterns:
        compiled_pattern(pattern)


def test_java_surrogate_pairs_mean_supplementary_code_points() -> None:
    from clarimon.api.validation import compiled_pattern

    pattern = compiled_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert pattern.fullmatch("table \U0001F600\t")
    assert pattern.fullmatch("\x01") is None


def test_render_like_java() -> None:
    assert render(["a", 1, True]) == "[a, 1, true]"
    assert render({"k": "v"}) == "{k=v}"


# Properties: a request passes exactly when every member keeps its constraints, and every broken one counts.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # EntityName, written out independently


@given(name=st.one_of(st.text(max_size=70), st.from_regex(_NAME, fullmatch=True)))
def test_a_name_passes_exactly_when_it_keeps_the_pattern_and_length(name: str) -> None:
    request = {"JobDefinitionName": name}
    valid = _NAME.fullmatch(name) is not None and 1 <= len(name) <= 63
    try:
        validate(shape("DescribeModelExplainabilityJobDefinition"), request)
    except ValidationException as error:
        assert not valid, error.message
        assert "at 'jobDefinitionName'" in error.message
    else:
        assert valid


@given(max_results=st.integers(-5, 200), order=st.sampled_from(["Ascending", "Descending", "Sideways", "up"]),
       sort=st.sampled_from(["Name", "CreationTime", "Size"]))
def test_every_broken_member_is_counted(max_results: int, order: str, sort: str) -> None:
    request = {"MaxResults": max_results, "SortOrder": order, "SortBy": sort}
    broken = (not 1 <= max_results <= 100) + (order not in ("Ascending", "Descending")) + (
        sort not in ("Name", "CreationTime"))
    if broken == 0:
        validate(shape("ListModelExplainabilityJobDefinitions"), request)
    else:
        text = message("ListModelExplainabilityJobDefinitions", request)
        assert text.startswith(f"{broken} validation error{'s' if broken > 1 else ''} detected: ")


def _serverless(memory: int, **more: int) -> dict:  # type: ignore[type-arg]
    return {"EndpointConfigName": "c", "ProductionVariants": [
        {"VariantName": "v", "ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": 5,
                                                                     **more}}]}


@pytest.mark.parametrize("memory", [1024, 2048, 3072, 4096, 5120, 6144])
def test_serverless_memory_in_whole_gigabytes_passes(memory: int) -> None:
    validate(shape("CreateEndpointConfig"), _serverless(memory))


@pytest.mark.parametrize("memory", [1111, 1025, 2000, 6143])
def test_serverless_memory_between_the_documented_values_is_refused(memory: int) -> None:
    # Within the model's min 1024 and max 6144, but documented: "Valid values are in 1 GB increments".
    assert message("CreateEndpointConfig", _serverless(memory)) == (
        f"1 validation error detected: Value '{memory}' at "
        "'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy constraint: "
        "Member must satisfy enum value set: [1024, 2048, 3072, 4096, 5120, 6144]"
    )


def test_the_documented_values_are_in_the_documentation() -> None:
    from clarimon.api.validation import DOCUMENTED_VALUES
    serverless = operation_model("CreateEndpointConfig").service_model.shape_for("ProductionVariantServerlessConfig")
    documentation = serverless.members["MemorySizeInMB"].documentation
    assert all(f"{value} MB" in documentation for value in DOCUMENTED_VALUES["ServerlessMemorySizeInMB"])
