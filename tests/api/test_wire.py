from clarimon.api.service_model import operation_model
from clarimon.api.wire import error_body, project
from clarimon.errors import (
    EndpointUnavailable,
    InternalFailure,
    InvocationValidationError,
    ModelError,
    ResourceNotFound,
)


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


def test_the_runtime_errors_render_the_same_way_with_their_fields() -> None:
    error = ModelError('Received client error (415) from primary with message "no".',
                       {"OriginalStatusCode": 415, "OriginalMessage": "no"})
    assert error_body(error) == {"__type": "ModelError", "message": error.message, "OriginalStatusCode": 415,
                                 "OriginalMessage": "no"}
    assert (error.status, EndpointUnavailable("x").status, InvocationValidationError("x").code) == (
        424, 503, "ValidationError")
