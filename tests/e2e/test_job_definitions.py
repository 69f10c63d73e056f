"""Model explainability job definitions through boto3 against a real server, on each backend."""

from __future__ import annotations

import datetime
import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.documents import full_definition, minimal_definition
from tests.servers import Server

pytestmark = pytest.mark.e2e


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def without_tags(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "Tags"}


@pytest.mark.parametrize("source", ["endpoint", "batch"])
def test_every_member_round_trips(shared_server: Server, region: str, source: str) -> None:
    client = shared_server.client(region)
    request = full_definition("round-trip", source)
    before = datetime.datetime.now(datetime.UTC)
    created = client.create_model_explainability_job_definition(**request)
    arn = f"arn:aws:sagemaker:{region}:000000000000:model-explainability-job-definition/round-trip"
    assert created["JobDefinitionArn"] == arn

    described = client.describe_model_explainability_job_definition(JobDefinitionName="round-trip")
    described.pop("ResponseMetadata")
    created_at = described.pop("CreationTime")
    assert before - datetime.timedelta(seconds=1) <= created_at <= datetime.datetime.now(datetime.UTC)
    assert described == {**without_tags(request), "JobDefinitionArn": arn}
    assert client.list_tags(ResourceArn=arn)["Tags"] == request["Tags"]


def test_minimal_definition_describes_without_optional_members(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("minimal"))
    described = client.describe_model_explainability_job_definition(JobDefinitionName="minimal")
    for absent in ("ModelExplainabilityBaselineConfig", "NetworkConfig", "StoppingCondition"):
        assert absent not in described
    assert client.list_tags(ResourceArn=described["JobDefinitionArn"])["Tags"] == []


def test_name_taken_is_resource_in_use_and_changes_nothing(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("taken", endpoint="first"))
    # ARNs lower-case the name, so a name differing only in case is taken too.
    for name in ("taken", "TAKEN"):
        code, message, status = error_of(
            client.create_model_explainability_job_definition, **minimal_definition(name, endpoint="second")
        )
        assert (code, status) == ("ResourceInUse", 400)
        assert name in message
    described = client.describe_model_explainability_job_definition(JobDefinitionName="taken")
    assert described["ModelExplainabilityJobInput"]["EndpointInput"]["EndpointName"] == "first"


def test_missing_definition_is_resource_not_found(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    calls = (client.describe_model_explainability_job_definition, client.delete_model_explainability_job_definition)
    for call in calls:
        code, message, status = error_of(call, JobDefinitionName="nowhere")
        assert (code, status) == ("ResourceNotFound", 400)
        assert "nowhere" in message


def test_delete_removes_definition_and_frees_name(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model_explainability_job_definition(**minimal_definition("short-lived"))
    assert client.delete_model_explainability_job_definition(JobDefinitionName="short-lived")
    assert error_of(client.describe_model_explainability_job_definition, JobDefinitionName="short-lived")[0] == (
        "ResourceNotFound"
    )
    assert client.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []
    client.create_model_explainability_job_definition(**minimal_definition("short-lived"))


def test_validation_error_names_every_violation_and_stores_nothing(shared_server: Server, region: str) -> None:
    client = shared_server.client(region, validate=False)
    request = minimal_definition("bad_name")
    request["RoleArn"] = "not-a-role"
    request["JobResources"]["ClusterConfig"]["InstanceCount"] = 0
    del request["ModelExplainabilityAppSpecification"]["ConfigUri"]
    code, message, status = error_of(client.create_model_explainability_job_definition, **request)
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "5 validation errors detected: "
        "Value 'bad_name' at 'jobDefinitionName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; "
        "Value null at 'modelExplainabilityAppSpecification.configUri' failed to satisfy constraint: "
        "Member must not be null; "
        "Value '0' at 'jobResources.clusterConfig.instanceCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; "
        "Value 'not-a-role' at 'roleArn' failed to satisfy constraint: Member must have length greater than "
        "or equal to 20; "
        "Value 'not-a-role' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression "
        r"pattern: arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
    )
    assert client.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []


def test_input_must_name_exactly_one_source(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    both = full_definition("two-sources")
    both["ModelExplainabilityJobInput"].update(full_definition("x", "batch")["ModelExplainabilityJobInput"])
    neither = minimal_definition("no-source")
    neither["ModelExplainabilityJobInput"] = {}
    for request in (both, neither):
        code, message, _ = error_of(client.create_model_explainability_job_definition, **request)
        assert code == "ValidationException"
        assert "exactly one of EndpointInput or BatchTransformInput" in message
    formats = full_definition("two-formats", "batch")
    formats["ModelExplainabilityJobInput"]["BatchTransformInput"]["DatasetFormat"] = {"Csv": {}, "Parquet": {}}
    assert "exactly one of Csv, Json or Parquet" in error_of(
        client.create_model_explainability_job_definition, **formats
    )[1]
    assert client.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []


def raw_post(server: Server, body: bytes, target: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(server.url + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_protocol_errors(shared_server: Server) -> None:
    describe = "SageMaker.DescribeModelExplainabilityJobDefinition"
    assert raw_post(shared_server, b"{not json", describe)[1]["__type"] == "SerializationException"
    assert raw_post(shared_server, b"[1, 2]", describe)[1]["__type"] == "SerializationException"
    wrong_type = json.dumps({"JobDefinitionName": 7}).encode()
    assert raw_post(shared_server, wrong_type, describe) == (
        400, {"__type": "SerializationException",
              "message": "Unexpected value '7' at 'jobDefinitionName': expected VALUE_STRING for "
                         "MonitoringJobDefinitionName."},
    )
    for target in ("SageMaker.NoSuchOperation", "Other.DescribeModelExplainabilityJobDefinition", None):
        status, body = raw_post(shared_server, b"{}", target)
        assert (status, body["__type"]) == (400, "UnknownOperationException")
    # Members the model does not have are ignored, as AWS ignores them.
    status, body = raw_post(shared_server, json.dumps({"JobDefinitionName": "x", "Extra": 1}).encode(), describe)
    assert (status, body["__type"]) == (400, "ResourceNotFound")


def test_regions_and_accounts_never_see_each_other(make_server: Any, region: str) -> None:
    server = make_server("--access-keys", "AKIDALICE=111111111111,AKIDBOB=222222222222")
    alice = server.client(region, access_key="AKIDALICE")
    bob = server.client(region, access_key="AKIDBOB")
    elsewhere = server.client(region + "-b", access_key="AKIDALICE")
    arn = alice.create_model_explainability_job_definition(**minimal_definition("private"))["JobDefinitionArn"]
    assert arn == f"arn:aws:sagemaker:{region}:111111111111:model-explainability-job-definition/private"
    for other in (bob, elsewhere):
        assert other.list_model_explainability_job_definitions()["JobDefinitionSummaries"] == []
        assert error_of(other.describe_model_explainability_job_definition, JobDefinitionName="private")[0] == (
            "ResourceNotFound"
        )
        assert error_of(other.list_tags, ResourceArn=arn)[0] == "ValidationException"
        assert error_of(other.add_tags, ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])[0] == (
            "ValidationException"
        )
        # The same name is free in another account or region; a bucket is its account's, in every region.
        if other is bob:
            assert error_of(bob.create_model_explainability_job_definition, **minimal_definition("private"))[0] == (
                "AccessDeniedException")
            bobs = json.loads(json.dumps(minimal_definition("private")).replace("s3://bucket/", "s3://bobs-bucket/"))
            bob.create_model_explainability_job_definition(**bobs)
        else:
            other.create_model_explainability_job_definition(**minimal_definition("private"))
    assert len(alice.list_model_explainability_job_definitions()["JobDefinitionSummaries"]) == 1


def test_quota_is_resource_limit_exceeded(make_server: Any, region: str) -> None:
    server = make_server("--quota", "model-explainability-job-definition=2")
    client = server.client(region)
    for name in ("q1", "q2"):
        client.create_model_explainability_job_definition(**minimal_definition(name))
    code, message, _ = error_of(client.create_model_explainability_job_definition, **minimal_definition("q3"))
    assert code == "ResourceLimitExceeded"
    assert "2" in message
    assert error_of(client.describe_model_explainability_job_definition, JobDefinitionName="q3")[0] == (
        "ResourceNotFound"
    )
    client.delete_model_explainability_job_definition(JobDefinitionName="q1")
    client.create_model_explainability_job_definition(**minimal_definition("q3"))
    # The quota is per region: another region still has room.
    server.client(region + "-b").create_model_explainability_job_definition(**minimal_definition("q1"))


def test_definitions_survive_restart(make_server: Any, region: str) -> None:
    server = make_server()
    client = server.client(region)
    request = full_definition("durable")
    client.create_model_explainability_job_definition(**request)
    before = client.describe_model_explainability_job_definition(JobDefinitionName="durable")
    token = client.list_model_explainability_job_definitions(MaxResults=1)  # nothing to page yet
    assert "NextToken" not in token
    client.create_model_explainability_job_definition(**minimal_definition("durable-2"))
    first_page = client.list_model_explainability_job_definitions(MaxResults=1)
    assert server.stop() == 0
    server.start()
    client = server.client(region)
    after = client.describe_model_explainability_job_definition(JobDefinitionName="durable")
    before.pop("ResponseMetadata")
    after.pop("ResponseMetadata")
    assert after == before
    assert client.list_tags(ResourceArn=after["JobDefinitionArn"])["Tags"] == request["Tags"]
    # A token issued before the restart still pages (its secret is in the database).
    rest = client.list_model_explainability_job_definitions(MaxResults=1, NextToken=first_page["NextToken"])
    names = [s["MonitoringJobDefinitionName"] for s in first_page["JobDefinitionSummaries"]]
    names += [s["MonitoringJobDefinitionName"] for s in rest["JobDefinitionSummaries"]]
    assert names == ["durable-2", "durable"]
