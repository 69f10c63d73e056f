from clarimon.api.service_model import operation_model
from clarimon.api.wire import error_body, project
from clarimon.errors import InternalFailure, ResourceNotFound


def test_project_keeps_only_output_members_at_every_depth() -> None:
    output = operation_model("DescribeModelExplainabilityJobDefinition").output_shape
    document = {
        "JobDefinitionName": "j",
        "Tags": [{"Key": "k", "Value": "v"}],
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "Surplus": 2}},
        "NetworkConfig": None,
    }
    expected = {"JobDefinitionName": "j", "JobResources": {"ClusterConfig": {"InstanceCount": 1}}}
    assert project(output, document) == expected


def test_error_body_and_status() -> None:
    assert error_body(ResourceNotFound("gone")) == {"__type": "ResourceNotFound", "message": "gone"}
    assert ResourceNotFound("x").status == 400
    assert InternalFailure("x").status == 500
