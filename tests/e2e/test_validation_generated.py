"""Generated from botocore's model: every constraint of every served operation is violated once.

For each constrained member reachable from an operation's input shape, a violating value is built from the
shape itself and sent past boto3's own checks; the server must answer ValidationException naming that member's
path, and store nothing. The test fails if the model gains a constraint the generator cannot reach.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import regex
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StructureShape

from clarimon.api.operations import SAGEMAKER
from clarimon.api.service_model import operation_model
from tests.documents import clarify_job, endpoint_config, full_definition, model
from tests.servers import Server

pytestmark = pytest.mark.e2e

Location = tuple[Any, ...]

REPORT: dict[str, int] = {}


@dataclass(frozen=True)
class Violation:
    operation: str
    location: Location  # keys and list indexes into the request
    constraint: str  # required | min | max | pattern | enum | key-... | value-...
    value: Any  # what to put there (ABSENT to remove the member)
    map_key: str | None = None  # for key- and value- constraints: the map entry to add


ABSENT = object()
PATTERN_CANDIDATES = ["!", " ", "\n", "-", "a", "A", "0", "~", "é", "$", "_"]


def message_path(location: Location) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"{item + 1}.member")
        else:
            parts.append(item[:1].lower() + item[1:])
    return ".".join(parts)


def violating_strings(shape: Shape) -> Iterator[tuple[str, Any]]:
    meta = shape.metadata
    if meta.get("min", 0) > 0:
        yield "min", "a" * (meta["min"] - 1)
    if "max" in meta:
        yield "max", "a" * (meta["max"] + 1)
    if "enum" in meta:
        yield "enum", "NotAnEnumValue"
    if "pattern" in meta:
        low, high = max(meta.get("min", 0), 1), meta.get("max", 64)
        pattern = regex.compile(meta["pattern"])
        for candidate in PATTERN_CANDIDATES:
            for length in (low, min(high, low + 2)):
                text = (candidate * length)[:length]
                if low <= len(text) <= high and pattern.fullmatch(text) is None:
                    yield "pattern", text
                    break
            else:
                continue
            break


def constraints_of(shape: Shape) -> set[str]:
    """The constraint kinds a member's own shape carries (what must be covered)."""
    meta = shape.metadata
    found = {k for k in ("min", "max", "enum", "pattern") if k in meta}
    if "min" in found and meta["min"] == 0:
        found.discard("min")
    if "pattern" in found and not any(True for kind, _ in violating_strings(shape) if kind == "pattern") \
            and shape.type_name == "string":
        found.discard("pattern")  # e.g. [\S\s]*: nothing violates it
    return found


def walk(operation: str, shape: Shape, value: Any, location: Location) -> Iterator[Violation]:
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            here = (*location, name)
            if name in shape.required_members:
                yield Violation(operation, here, "required", ABSENT)
            if name in value:
                yield from walk(operation, member, value[name], here)
    elif isinstance(shape, ListShape):
        meta = shape.metadata
        if meta.get("min", 0) > 0:
            yield Violation(operation, location, "min", value[: meta["min"] - 1])
        if "max" in meta:
            yield Violation(operation, location, "max", (value * (meta["max"] + 1))[: meta["max"] + 1])
        if value:
            yield from walk(operation, shape.member, value[0], (*location, 0))
    elif isinstance(shape, MapShape):
        meta = shape.metadata
        if "max" in meta:
            yield Violation(operation, location, "max", {f"K{i}": "v" for i in range(meta["max"] + 1)})
        for kind, bad_key in violating_strings(shape.key):
            yield Violation(operation, location, f"key-{kind}", ABSENT, map_key=bad_key)
        for kind, bad_value in violating_strings(shape.value):
            yield Violation(operation, location, f"value-{kind}", bad_value, map_key="GoodKey")
    elif shape.type_name == "string":
        for kind, bad in violating_strings(shape):
            yield Violation(operation, location, kind, bad)
    elif shape.type_name in ("integer", "long"):
        meta = shape.metadata
        if "min" in meta:
            yield Violation(operation, location, "min", meta["min"] - 1)
        if "max" in meta:
            yield Violation(operation, location, "max", meta["max"] + 1)


def model_constraints(shape: Shape, location: Location, seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every (path, constraint) the model declares below `shape`, independent of any request."""
    if isinstance(shape, StructureShape):
        if shape.name in seen:
            return
        for name, member in shape.members.items():
            here = (*location, name)
            if name in shape.required_members:
                yield f"{message_path(here)}:required"
            yield from model_constraints(member, here, seen | {shape.name})
    elif isinstance(shape, ListShape):
        for kind in constraints_of(shape):
            yield f"{message_path(location)}:{kind}"
        yield from model_constraints(shape.member, (*location, 0), seen)
    elif isinstance(shape, MapShape):
        if "max" in shape.metadata:
            yield f"{message_path(location)}:max"
        for kind in constraints_of(shape.key):
            yield f"{message_path(location)}:key-{kind}"
        for kind in constraints_of(shape.value):
            yield f"{message_path(location)}:value-{kind}"
    elif shape.type_name in ("string", "integer", "long"):
        for kind in constraints_of(shape):
            yield f"{message_path(location)}:{kind}"


def apply(request: dict[str, Any], violation: Violation) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    *parents, last = violation.location
    target: Any = changed
    for key in parents:
        target = target[key]
    if violation.map_key is not None:
        target[last][violation.map_key] = "v" if violation.value is ABSENT else violation.value
    elif violation.value is ABSENT:
        del target[last]
    else:
        target[last] = violation.value
    return changed


def base_requests(arn: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "CreateModelExplainabilityJobDefinition": [full_definition("generated", "endpoint"),
                                                   full_definition("generated", "batch")],
        "DescribeModelExplainabilityJobDefinition": [{"JobDefinitionName": "generated"}],
        "DeleteModelExplainabilityJobDefinition": [{"JobDefinitionName": "generated"}],
        "ListModelExplainabilityJobDefinitions": [{
            "EndpointName": "churn-endpoint", "SortBy": "Name", "SortOrder": "Ascending", "NextToken": "",
            "MaxResults": 10, "NameContains": "gen", "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9,
        }],
        "AddTags": [{"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}],
        "ListTags": [{"ResourceArn": arn, "NextToken": "", "MaxResults": 50}],
        "DeleteTags": [{"ResourceArn": arn, "TagKeys": ["keep"]}],
        "CreateModel": [model("generated")],
        "DescribeModel": [{"ModelName": "generated"}],
        "DeleteModel": [{"ModelName": "generated"}],
        "ListModels": [{"SortBy": "Name", "SortOrder": "Ascending", "NextToken": "", "MaxResults": 10,
                        "NameContains": "gen", "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9}],
        "CreateEndpointConfig": [endpoint_config("generated", "tag-target-model")],
        "DescribeEndpointConfig": [{"EndpointConfigName": "generated"}],
        "DeleteEndpointConfig": [{"EndpointConfigName": "generated"}],
        "ListEndpointConfigs": [{"SortBy": "Name", "SortOrder": "Ascending", "NextToken": "", "MaxResults": 10,
                                 "NameContains": "gen", "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9}],
        "CreateEndpoint": [{"EndpointName": "generated", "EndpointConfigName": "no-such-config",
                            "Tags": [{"Key": "k", "Value": "v"}]}],
        "DescribeEndpoint": [{"EndpointName": "generated"}],
        "DeleteEndpoint": [{"EndpointName": "generated"}],
        "UpdateEndpoint": [{"EndpointName": "generated", "EndpointConfigName": "config",
                            "RetainAllVariantProperties": False, "RetainDeploymentConfig": False}],
        "UpdateEndpointWeightsAndCapacities": [{"EndpointName": "generated", "DesiredWeightsAndCapacities": [
            {"VariantName": "AllTraffic", "DesiredWeight": 0.5, "DesiredInstanceCount": 1,
             "ServerlessUpdateConfig": {"MaxConcurrency": 2, "ProvisionedConcurrency": 1}}]}],
        "ListMonitoringAlerts": [{"MonitoringScheduleName": "generated", "NextToken": "", "MaxResults": 10}],
        "UpdateMonitoringAlert": [{"MonitoringScheduleName": "generated", "MonitoringAlertName": "alert",
                                   "DatapointsToAlert": 1, "EvaluationPeriod": 1}],
        "ListMonitoringAlertHistory": [{"MonitoringScheduleName": "generated", "MonitoringAlertName": "alert",
                                        "SortBy": "Status", "SortOrder": "Ascending", "NextToken": "",
                                        "MaxResults": 10, "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9,
                                        "StatusEquals": "OK"}],
        "ListEndpoints": [{"SortBy": "Status", "SortOrder": "Ascending", "NextToken": "", "MaxResults": 10,
                           "NameContains": "gen", "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9,
                           "LastModifiedTimeBefore": 2e9, "LastModifiedTimeAfter": 1e9, "StatusEquals": "InService"}],
        "CreateMonitoringSchedule": [{"MonitoringScheduleName": "generated", "MonitoringScheduleConfig": SCHEDULE,
                                      "Tags": [{"Key": "k", "Value": "v"}]}],
        "UpdateMonitoringSchedule": [{"MonitoringScheduleName": "generated", "MonitoringScheduleConfig": SCHEDULE}],
        "DescribeMonitoringSchedule": [{"MonitoringScheduleName": "generated"}],
        "StartMonitoringSchedule": [{"MonitoringScheduleName": "generated"}],
        "StopMonitoringSchedule": [{"MonitoringScheduleName": "generated"}],
        "DeleteMonitoringSchedule": [{"MonitoringScheduleName": "generated"}],
        "ListMonitoringSchedules": [{"EndpointName": "churn-endpoint", "SortBy": "Name", "SortOrder": "Ascending",
                                     "NextToken": "", "MaxResults": 10, "NameContains": "gen",
                                     "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9,
                                     "LastModifiedTimeBefore": 2e9, "LastModifiedTimeAfter": 1e9,
                                     "StatusEquals": "Scheduled", "MonitoringJobDefinitionName": "tag-target",
                                     "MonitoringTypeEquals": "ModelExplainability"}],
        "ListMonitoringExecutions": [{"MonitoringScheduleName": "generated", "EndpointName": "churn-endpoint",
                                      "SortBy": "Status", "SortOrder": "Ascending", "NextToken": "", "MaxResults": 10,
                                      "ScheduledTimeBefore": 2e9, "ScheduledTimeAfter": 1e9,
                                      "CreationTimeBefore": 2e9, "CreationTimeAfter": 1e9,
                                      "LastModifiedTimeBefore": 2e9, "LastModifiedTimeAfter": 1e9,
                                      "StatusEquals": "Completed", "MonitoringJobDefinitionName": "tag-target",
                                      "MonitoringTypeEquals": "ModelExplainability"}],
        "CreateProcessingJob": [clarify_job("generated")],
        "DescribeProcessingJob": [{"ProcessingJobName": "generated"}],
        "StopProcessingJob": [{"ProcessingJobName": "generated"}],
        "ListProcessingJobs": [{"CreationTimeAfter": 1e9, "CreationTimeBefore": 2e9, "LastModifiedTimeAfter": 1e9,
                                "LastModifiedTimeBefore": 2e9, "NameContains": "gen", "StatusEquals": "Completed",
                                "SortBy": "Name", "SortOrder": "Ascending", "NextToken": "", "MaxResults": 10}],
    }


SCHEDULE = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)", "DataAnalysisStartTime": "-PT1H",
                               "DataAnalysisEndTime": "-PT0H"},
            "MonitoringJobDefinitionName": "tag-target", "MonitoringType": "ModelExplainability"}


# Operations whose base requests name every member of the input shape: there, every constraint the model
# declares must be reached. (CreateModel's, CreateEndpointConfig's, CreateProcessingJob's and the schedules' shapes
# are far larger than monitoring uses; their bases hold what it uses, and every constraint those reach is checked.)
COMPLETE = {"CreateModelExplainabilityJobDefinition", "DescribeModelExplainabilityJobDefinition",
            "DeleteModelExplainabilityJobDefinition", "ListModelExplainabilityJobDefinitions", "AddTags",
            "ListTags", "DeleteTags", "DescribeModel", "DeleteModel", "ListModels", "DescribeEndpointConfig",
            "DeleteEndpointConfig", "ListEndpointConfigs", "DescribeEndpoint", "DeleteEndpoint", "ListEndpoints",
            "DescribeMonitoringSchedule", "StartMonitoringSchedule", "StopMonitoringSchedule",
            "DeleteMonitoringSchedule", "ListMonitoringSchedules", "ListMonitoringExecutions",
            "DescribeProcessingJob", "StopProcessingJob", "ListProcessingJobs", "UpdateEndpointWeightsAndCapacities",
            "ListMonitoringAlerts", "UpdateMonitoringAlert", "ListMonitoringAlertHistory"}


def snake(name: str) -> str:
    return str(regex.sub(r"(?<!^)(?=[A-Z])", "_", name)).lower()


def test_every_constraint_is_enforced_with_its_path(shared_server: Server, region: str) -> None:
    client = shared_server.client(region, validate=False)
    checked = shared_server.client(region)
    arn = checked.create_model_explainability_job_definition(
        **{**full_definition("tag-target"), "Tags": [{"Key": "keep", "Value": "1"}]}
    )["JobDefinitionArn"]
    checked.create_model(**model("tag-target-model"))
    bases = base_requests(arn)
    assert set(bases) == set(SAGEMAKER), "every served operation needs a base request"

    covered: set[str] = set()
    declared: set[str] = set()
    cases = 0
    for operation, requests in bases.items():
        input_shape = operation_model(operation).input_shape
        if operation in COMPLETE:
            declared |= {f"{operation}:{c}" for c in model_constraints(input_shape, ())}
        call = getattr(client, snake(operation))
        for base in requests:
            for violation in walk(operation, input_shape, base, ()):
                cases += 1
                path = message_path(violation.location)
                with pytest.raises(ClientError) as caught:
                    call(**apply(base, violation))
                error = caught.value.response["Error"]
                assert error["Code"] == "ValidationException", (operation, path, violation.constraint, error)
                assert f"at '{path}' failed to satisfy constraint" in error["Message"], (operation, path, error)
                covered.add(f"{operation}:{path}:{violation.constraint}")

    # Nothing was stored or changed by any rejected request.
    summaries = checked.list_model_explainability_job_definitions()["JobDefinitionSummaries"]
    assert [s["MonitoringJobDefinitionName"] for s in summaries] == ["tag-target"]
    assert [m["ModelName"] for m in checked.list_models()["Models"]] == ["tag-target-model"]
    assert checked.list_endpoint_configs()["EndpointConfigs"] == []
    assert checked.list_endpoints()["Endpoints"] == []
    assert checked.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    assert checked.list_processing_jobs()["ProcessingJobSummaries"] == []
    assert checked.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "keep", "Value": "1"}]

    missing = declared - covered
    assert not missing, f"constraints the generator did not reach: {sorted(missing)}"
    REPORT.update(constraints=len(covered), complete=len(declared), requests=cases)
