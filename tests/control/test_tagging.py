"""Tags: added, overwritten, listed a page at a time, deleted; never on another account's resource."""

from __future__ import annotations

import dataclasses

import pytest

from clarimon.control import job_definitions, tagging
from clarimon.control.context import Context
from clarimon.errors import ValidationException
from tests.documents import minimal_definition


def test_tags_are_added_overwritten_paged_and_deleted(ctx: Context) -> None:
    request = {**minimal_definition("tagged"), "Tags": [{"Key": "team", "Value": "risk"}]}
    arn = job_definitions.create(ctx, request)["JobDefinitionArn"]
    tagging.add(ctx, {"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "ops"}, {"Key": "tier", "Value": "1"}]})
    first = tagging.list_(ctx, {"ResourceArn": arn, "MaxResults": 1})
    assert first["Tags"] == [{"Key": "team", "Value": "ops"}]
    rest = tagging.list_(ctx, {"ResourceArn": arn, "NextToken": first["NextToken"]})
    assert rest == {"Tags": [{"Key": "tier", "Value": "1"}]}
    tagging.delete(ctx, {"ResourceArn": arn, "TagKeys": ["team", "absent"]})
    assert tagging.list_(ctx, {"ResourceArn": arn})["Tags"] == [{"Key": "tier", "Value": "1"}]


def test_repeated_keys_too_many_tags_and_foreign_resources_are_refused(ctx: Context) -> None:
    with pytest.raises(ValidationException, match="repeated: k"):
        tagging.creation_tags({"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]})
    arn = job_definitions.create(ctx, minimal_definition("full"))["JobDefinitionArn"]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(tagging.MAX_TAGS + 1)]
    with pytest.raises(ValidationException, match="at most 50 tags"):
        tagging.add(ctx, {"ResourceArn": arn, "Tags": many})
    with pytest.raises(ValidationException, match="Could not find resource"):
        tagging.list_(dataclasses.replace(ctx, account="111111111111"), {"ResourceArn": arn})
    with pytest.raises(ValidationException, match="not a SageMaker resource ARN"):
        tagging.list_(ctx, {"ResourceArn": "arn:aws:s3:::bucket"})
