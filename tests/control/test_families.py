"""One mechanism for Create/Describe/List/Delete, seen through job definitions, models and endpoint configs."""

from __future__ import annotations

import dataclasses

import pytest

from clarimon.control import endpoint_configs, job_definitions, models, schedules
from clarimon.control.context import Context
from clarimon.errors import ResourceInUse, ResourceLimitExceeded, ResourceNotFound, ValidationException
from tests.documents import endpoint_config, minimal_definition, model


def test_what_was_created_is_described_and_listed(ctx: Context) -> None:
    request = {**minimal_definition("first"), "Tags": [{"Key": "team", "Value": "risk"}]}
    arn = job_definitions.create(ctx, request)["JobDefinitionArn"]
    described = job_definitions.describe(ctx, {"JobDefinitionName": "first"})
    assert described["JobDefinitionArn"] == arn
    assert {k: v for k, v in described.items() if k in request} == {k: v for k, v in request.items() if k != "Tags"}
    job_definitions.create(ctx, minimal_definition("second"))
    listed = job_definitions.list_(ctx, {"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 1})
    assert [s["MonitoringJobDefinitionName"] for s in listed["JobDefinitionSummaries"]] == ["first"]
    rest = job_definitions.list_(ctx, {"SortBy": "Name", "SortOrder": "Ascending", "NextToken": listed["NextToken"]})
    assert [s["MonitoringJobDefinitionName"] for s in rest["JobDefinitionSummaries"]] == ["second"]
    assert "NextToken" not in rest


def test_names_are_taken_once_per_account_and_region(ctx: Context) -> None:
    job_definitions.create(ctx, minimal_definition("once"))
    with pytest.raises(ResourceInUse):
        job_definitions.create(ctx, minimal_definition("ONCE"))  # ARNs lower-case the name
    elsewhere = dataclasses.replace(ctx, region="eu-west-1")
    job_definitions.create(elsewhere, minimal_definition("once"))
    with pytest.raises(ResourceNotFound):
        job_definitions.describe(dataclasses.replace(ctx, account="111111111111"), {"JobDefinitionName": "once"})


def test_a_definition_in_use_cannot_be_deleted(ctx: Context) -> None:
    job_definitions.create(ctx, minimal_definition("def"))
    schedules.create(ctx, {"MonitoringScheduleName": "s", "MonitoringScheduleConfig": {
        "MonitoringJobDefinitionName": "def", "MonitoringType": "ModelExplainability"}})
    with pytest.raises(ResourceInUse, match="used by monitoring schedule s"):
        job_definitions.delete(ctx, {"JobDefinitionName": "def"})
    schedules.delete(ctx, {"MonitoringScheduleName": "s"})
    job_definitions.delete(ctx, {"JobDefinitionName": "def"})
    with pytest.raises(ResourceNotFound):
        job_definitions.delete(ctx, {"JobDefinitionName": "def"})


def test_an_endpoint_config_needs_its_models(ctx: Context) -> None:
    with pytest.raises(ValidationException, match='Could not find model ".*model/churn"'):
        endpoint_configs.create(ctx, endpoint_config("config", "churn"))
    models.create(ctx, model("churn"))
    endpoint_configs.create(ctx, endpoint_config("config", "churn"))
    assert endpoint_configs.describe(ctx, {"EndpointConfigName": "config"})["EndpointConfigName"] == "config"


def test_provisioned_concurrency_is_at_most_max_concurrency(ctx: Context) -> None:
    models.create(ctx, model("churn"))
    request = endpoint_config("serverless", "churn")
    request["ProductionVariants"] = [{"VariantName": "v", "ModelName": "churn", "ServerlessConfig": {
        "MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 3}}]
    with pytest.raises(ValidationException, match=r"ProvisionedConcurrency \(3\) of variant v must be less than or "
                                                  r"equal to its MaxConcurrency \(2\)"):
        endpoint_configs.create(ctx, request)
    with pytest.raises(ValidationException):
        endpoint_configs.describe(ctx, {"EndpointConfigName": "serverless"})  # nothing was stored
    request["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] = 2
    endpoint_configs.create(ctx, request)


def test_quotas_count_per_account_and_region(ctx: Context) -> None:
    limited = dataclasses.replace(ctx, services=dataclasses.replace(
        ctx.services, settings=dataclasses.replace(ctx.settings, quotas={"model": 1})))
    models.create(limited, model("one"))
    with pytest.raises(ResourceLimitExceeded, match="service limit for models is 1 in us-east-1"):
        models.create(limited, model("two"))
    models.create(dataclasses.replace(limited, region="eu-west-1"), model("two"))
