"""List filters, sorting, pagination and tags through boto3 against a real server, on each backend."""

from __future__ import annotations

import base64
import datetime
import time
from typing import Any

import pytest

from tests.documents import minimal_definition
from tests.e2e.test_job_definitions import error_of
from tests.servers import Server

pytestmark = pytest.mark.e2e

NAMES = ["alpha-1", "Beta-2", "gamma-3", "delta-4", "epsilon-5", "zeta-6", "eta-7"]


@pytest.fixture
def populated(shared_server: Server, region: str) -> tuple[Any, list[datetime.datetime]]:
    """Seven definitions created in NAMES order, odd ones on endpoint "odd", a batch one last."""
    client = shared_server.client(region)
    times = []
    for index, name in enumerate(NAMES):
        endpoint = "odd" if index % 2 else "even"
        client.create_model_explainability_job_definition(**minimal_definition(name, endpoint=endpoint))
        times.append(client.describe_model_explainability_job_definition(JobDefinitionName=name)["CreationTime"])
        time.sleep(0.005)  # distinct creation times, to the millisecond
    batch = minimal_definition("batch-8")
    batch["ModelExplainabilityJobInput"] = {
        "BatchTransformInput": {"DataCapturedDestinationS3Uri": "s3://bucket/batch", "DatasetFormat": {"Parquet": {}},
                                "LocalPath": "/opt/ml/processing/input/batch"}
    }
    client.create_model_explainability_job_definition(**batch)
    return client, times


def names(response: dict[str, Any]) -> list[str]:
    return [s["MonitoringJobDefinitionName"] for s in response["JobDefinitionSummaries"]]


def test_default_order_is_newest_first_ten_at_most(populated: tuple[Any, list[Any]]) -> None:
    client, _ = populated
    response = client.list_model_explainability_job_definitions()
    assert names(response) == ["batch-8", *reversed(NAMES)]
    assert "NextToken" not in response
    batch = response["JobDefinitionSummaries"][0]
    assert "EndpointName" not in batch
    assert response["JobDefinitionSummaries"][1]["EndpointName"] == "even"


def test_sorting(populated: tuple[Any, list[Any]]) -> None:
    client, _ = populated
    everything = ["batch-8", *NAMES]
    ascending = client.list_model_explainability_job_definitions(SortBy="CreationTime", SortOrder="Ascending")
    assert names(ascending) == [*NAMES, "batch-8"]
    by_name = client.list_model_explainability_job_definitions(SortBy="Name", SortOrder="Ascending")
    assert names(by_name) == sorted(everything)  # byte order: "Beta-2" before "alpha-1"
    by_name_desc = client.list_model_explainability_job_definitions(SortBy="Name")
    assert names(by_name_desc) == sorted(everything, reverse=True)


def test_filters(populated: tuple[Any, list[datetime.datetime]]) -> None:
    client, times = populated
    assert names(client.list_model_explainability_job_definitions(NameContains="ET")) == ["eta-7", "zeta-6", "Beta-2"]
    assert names(client.list_model_explainability_job_definitions(EndpointName="odd")) == [
        "zeta-6", "delta-4", "Beta-2"
    ]
    assert names(client.list_model_explainability_job_definitions(EndpointName="nowhere")) == []
    window = client.list_model_explainability_job_definitions(CreationTimeAfter=times[1], CreationTimeBefore=times[5])
    assert names(window) == ["epsilon-5", "delta-4", "gamma-3"]  # both bounds exclusive
    combined = client.list_model_explainability_job_definitions(
        NameContains="a", EndpointName="even", CreationTimeAfter=times[0], SortBy="Name", SortOrder="Ascending"
    )
    assert names(combined) == ["eta-7", "gamma-3"]


@pytest.mark.parametrize("sort_by", ["Name", "CreationTime"])
@pytest.mark.parametrize("page_size", [1, 3, 8])
def test_paginator_walks_every_page(populated: tuple[Any, list[Any]], sort_by: str, page_size: int) -> None:
    client, _ = populated
    expected = names(client.list_model_explainability_job_definitions(SortBy=sort_by, MaxResults=100))
    paginator = client.get_paginator("list_model_explainability_job_definitions")
    pages = list(paginator.paginate(SortBy=sort_by, PaginationConfig={"PageSize": page_size}))
    assert [n for page in pages for n in names(page)] == expected
    assert len(pages) == -(-len(expected) // page_size)
    assert all(len(names(page)) == page_size for page in pages[:-1])


def test_pages_stay_stable_when_items_are_added(populated: tuple[Any, list[Any]]) -> None:
    client, _ = populated
    first = client.list_model_explainability_job_definitions(MaxResults=4)
    client.create_model_explainability_job_definition(**minimal_definition("latecomer"))
    second = client.list_model_explainability_job_definitions(MaxResults=4, NextToken=first["NextToken"])
    assert names(first) + names(second) == ["batch-8", *reversed(NAMES)]


def test_forged_and_foreign_tokens_are_rejected(populated: tuple[Any, list[Any]], shared_server: Server,
                                                region: str) -> None:
    client, _ = populated
    token = client.list_model_explainability_job_definitions(MaxResults=2)["NextToken"]
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-3] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad, kwargs in [
        (forged, {}),
        ("garbage!!", {}),
        (token, {"SortBy": "Name"}),  # the same token for another listing
        (token, {"NameContains": "a"}),
    ]:
        code, message, _ = error_of(client.list_model_explainability_job_definitions, NextToken=bad, **kwargs)
        assert code == "ValidationException"
        assert "NextToken" in message
    other_region = shared_server.client(region + "-x")
    assert error_of(other_region.list_model_explainability_job_definitions, NextToken=token)[0] == (
        "ValidationException"
    )


def test_max_results_bounds(populated: tuple[Any, list[Any]], shared_server: Server, region: str) -> None:
    unchecked = shared_server.client(region, validate=False)
    for bad in (0, 101):
        code, message, _ = error_of(unchecked.list_model_explainability_job_definitions, MaxResults=bad)
        assert code == "ValidationException"
        assert f"Value '{bad}' at 'maxResults'" in message


def test_tags_add_overwrite_list_delete(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    arn = client.create_model_explainability_job_definition(
        **minimal_definition("tagged"), Tags=[{"Key": "a", "Value": "1"}]
    )["JobDefinitionArn"]
    added = client.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "one"}])
    assert added["Tags"] == [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "one"}]
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"}]
    client.delete_tags(ResourceArn=arn, TagKeys=["a", "never-there"])
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    # The ARN's name part is case-insensitive, as names are.
    assert client.list_tags(ResourceArn=arn.replace("tagged", "TAGGED"))["Tags"] == [{"Key": "b", "Value": "2"}]


def test_tags_paginate_and_cap_at_fifty(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    arn = client.create_model_explainability_job_definition(**minimal_definition("many-tags"))["JobDefinitionArn"]
    tags = [{"Key": f"k{i:02}", "Value": str(i)} for i in range(50)]
    client.add_tags(ResourceArn=arn, Tags=tags)
    paginator = client.get_paginator("list_tags")
    pages = list(paginator.paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50}))
    assert [t for page in pages for t in page["Tags"]] == tags
    code, message, _ = error_of(client.add_tags, ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "x"}])
    assert code == "ValidationException"
    assert "50" in message
    assert len(client.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]) == 50


def test_tag_errors(shared_server: Server, region: str) -> None:
    client = shared_server.client(region)
    missing = f"arn:aws:sagemaker:{region}:000000000000:model-explainability-job-definition/missing"
    cases: list[tuple[Any, dict[str, Any]]] = [
        (client.list_tags, {}),
        (client.add_tags, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (client.delete_tags, {"TagKeys": ["k"]}),
    ]
    for call, kwargs in cases:
        code, message, _ = error_of(call, ResourceArn=missing, **kwargs)
        assert code == "ValidationException"
        assert missing in message
    code, _, _ = error_of(
        client.create_model_explainability_job_definition,
        **minimal_definition("dup-tags"), Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}],
    )
    assert code == "ValidationException"
    assert error_of(client.describe_model_explainability_job_definition, JobDefinitionName="dup-tags")[0] == (
        "ResourceNotFound"
    )
