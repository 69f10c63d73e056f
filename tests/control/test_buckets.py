"""Buckets belong to accounts: claimed by the first account that uses one in a create, or configured."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from clarimon.control import buckets, job_definitions, models
from clarimon.control.context import Context
from clarimon.errors import AccessDeniedException, ResourceNotFound, ValidationException
from clarimon.store import buckets as stored_buckets
from tests.documents import minimal_definition, model


def in_bucket(request: dict[str, Any], bucket: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(request).replace("s3://bucket/", f"s3://{bucket}/"))
    return loaded


def owner(ctx: Context, bucket: str) -> str | None:
    with ctx.store.reading() as conn:
        return stored_buckets.owner(conn, bucket)


def test_the_first_account_to_use_a_bucket_owns_it(ctx: Context) -> None:
    bob = dataclasses.replace(ctx, account="222222222222")
    job_definitions.create(ctx, in_bucket(minimal_definition("mine"), "alpha"))
    assert owner(ctx, "alpha") == ctx.account
    with pytest.raises(AccessDeniedException, match=r"Access Denied: .*'s3://alpha/.*bucket 'alpha'") as caught:
        job_definitions.create(bob, in_bucket(minimal_definition("theirs"), "alpha"))
    assert ctx.account not in caught.value.message  # the owner is not named
    with pytest.raises(ResourceNotFound):
        job_definitions.describe(bob, {"JobDefinitionName": "theirs"})  # nothing was stored
    job_definitions.create(bob, in_bucket(minimal_definition("theirs"), "beta"))  # a bucket of his own
    assert owner(ctx, "beta") == bob.account


def test_a_refused_create_claims_nothing(ctx: Context) -> None:
    bob = dataclasses.replace(ctx, account="222222222222")
    job_definitions.create(bob, in_bucket(minimal_definition("bobs"), "bobs-bucket"))
    request = in_bucket(minimal_definition("mixed"), "fresh")
    request["ModelExplainabilityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] = "s3://bobs-bucket/o"
    with pytest.raises(AccessDeniedException, match="ModelExplainabilityJobOutputConfig.MonitoringOutputs"):
        job_definitions.create(ctx, request)
    assert owner(ctx, "fresh") is None


def test_a_model_archive_and_its_source_in_anothers_bucket_are_refused(ctx: Context) -> None:
    bob = dataclasses.replace(ctx, account="222222222222")
    job_definitions.create(bob, in_bucket(minimal_definition("bobs"), "bobs-bucket"))
    request = in_bucket(model("sneaky"), "mine")
    request["PrimaryContainer"]["Environment"] = {"SAGEMAKER_SUBMIT_DIRECTORY": "s3://bobs-bucket/code.tar.gz"}
    with pytest.raises(AccessDeniedException, match="SAGEMAKER_SUBMIT_DIRECTORY"):
        models.create(ctx, request)
    with pytest.raises(AccessDeniedException, match="ModelDataUrl"):
        models.create(ctx, in_bucket(model("sneaky"), "bobs-bucket"))


def test_configured_owners_come_first(ctx: Context) -> None:
    settings = dataclasses.replace(ctx.settings, bucket_owners={"shared": "222222222222"})
    configured = dataclasses.replace(ctx, services=dataclasses.replace(ctx.services, settings=settings))
    with pytest.raises(AccessDeniedException):
        job_definitions.create(configured, in_bucket(minimal_definition("first"), "shared"))
    assert owner(ctx, "shared") is None
    bob = dataclasses.replace(configured, account="222222222222")
    job_definitions.create(bob, in_bucket(minimal_definition("first"), "shared"))


def test_every_uri_of_a_request_is_found_but_tags() -> None:
    request = {"A": "s3://one/x", "B": [{"C": "s3://two"}, "plain"], "D": {"E": {"F": "s3://three/y/z"}},
               "Tags": [{"Key": "k", "Value": "s3://tag/not-a-location"}]}
    assert [(path, buckets.bucket_of(uri)) for path, uri in buckets.uris(request)] == [
        ("A", "one"), ("B[0].C", "two"), ("D.E.F", "three")]


@pytest.mark.parametrize("uri", ["s3://", "s3:///key", "s3://" + "b" * 64 + "/k", "s3://a\x00b/k", "s3://bü/k"])
def test_a_uri_without_a_valid_bucket_is_refused(ctx: Context, uri: str) -> None:
    request = model("odd")
    request["PrimaryContainer"]["Environment"] = {"SAGEMAKER_SUBMIT_DIRECTORY": uri}
    with pytest.raises(ValidationException, match="does not name a valid bucket"):
        models.create(ctx, request)
