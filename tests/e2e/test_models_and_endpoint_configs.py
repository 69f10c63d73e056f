"""Models and endpoint configurations through boto3 against a real server, on each backend."""

from __future__ import annotations

import pytest

from tests.documents import endpoint_config, model
from tests.e2e.test_job_definitions import error_of, without_tags
from tests.servers import Server

pytestmark = pytest.mark.e2e


def test_model_round_trip_list_delete(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    request = model("churn-model")
    arn = client.create_model(**request)["ModelArn"]
    assert arn == f"arn:aws:sagemaker:{region}:000000000000:model/churn-model"
    described = client.describe_model(ModelName="churn-model")
    described.pop("ResponseMetadata")
    described.pop("CreationTime")
    assert described == {**without_tags(request), "ModelArn": arn}
    assert client.list_tags(ResourceArn=arn)["Tags"] == request["Tags"]
    client.create_model(**model("other-model"))
    listed = client.list_models(SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in listed["Models"]] == ["churn-model", "other-model"]
    client.delete_model(ModelName="churn-model")
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["other-model"]


def test_model_errors_are_validation_exceptions_as_in_sagemaker(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    client.create_model(**model("taken"))
    arn = f"arn:aws:sagemaker:{region}:000000000000:model/taken"
    assert error_of(client.create_model, **model("taken"))[:2] == (
        "ValidationException", f'Cannot create already existing model "{arn}".'
    )
    missing = f"arn:aws:sagemaker:{region}:000000000000:model/missing"
    for call in (client.describe_model, client.delete_model):
        assert error_of(call, ModelName="missing")[:2] == ("ValidationException", f'Could not find model "{missing}".')
    no_container = model("empty")
    del no_container["PrimaryContainer"]
    assert "PrimaryContainer" in error_of(client.create_model, **no_container)[1]


def test_endpoint_config_round_trip_and_model_reference(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    missing = f"arn:aws:sagemaker:{region}:000000000000:model/churn-model"
    assert error_of(client.create_endpoint_config, **endpoint_config("churn-config", "churn-model"))[:2] == (
        "ValidationException", f'Could not find model "{missing}".'
    )
    client.create_model(**model("churn-model"))
    request = endpoint_config("churn-config", "churn-model")
    arn = client.create_endpoint_config(**request)["EndpointConfigArn"]
    described = client.describe_endpoint_config(EndpointConfigName="churn-config")
    assert described["EndpointConfigArn"] == arn
    assert described["DataCaptureConfig"] == request["DataCaptureConfig"]
    assert described["ProductionVariants"] == request["ProductionVariants"]
    assert error_of(client.create_endpoint_config, **request)[:2] == (
        "ValidationException", f'Cannot create already existing endpoint configuration "{arn}".'
    )
    twice = endpoint_config("twice", "churn-model")
    twice["ProductionVariants"] = twice["ProductionVariants"] * 2
    assert "unique" in error_of(client.create_endpoint_config, **twice)[1]
    assert [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]] == ["churn-config"]
    client.delete_endpoint_config(EndpointConfigName="churn-config")
    assert error_of(client.describe_endpoint_config, EndpointConfigName="churn-config")[0] == "ValidationException"
