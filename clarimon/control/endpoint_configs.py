"""Endpoint configurations: Create, Describe, List, Delete; each production variant names a model."""

from __future__ import annotations

from clarimon.control import models
from clarimon.control.context import Context, Request, Response
from clarimon.control.families import Family
from clarimon.errors import ValidationException
from clarimon.objects import ObjectError, split
from clarimon.store.resources import Resource


def _check_variants(ctx: Context, request: Request) -> None:
    variants = [*request["ProductionVariants"], *(request.get("ShadowProductionVariants") or [])]
    names = [v["VariantName"] for v in variants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationException(f"Variant names must be unique within an endpoint configuration: {repeated[0]}.")
    for variant in variants:
        serverless = variant.get("ServerlessConfig") or {}
        provisioned, most = serverless.get("ProvisionedConcurrency"), serverless.get("MaxConcurrency")
        if provisioned is not None and most is not None and provisioned > most:
            # documented on the member: "Should be less than or equal to MaxConcurrency"
            raise ValidationException(
                f"ServerlessConfig.ProvisionedConcurrency ({provisioned}) of variant {variant['VariantName']} must "
                f"be less than or equal to its MaxConcurrency ({most}).")
        if variant.get("ModelName"):
            models.FAMILY.get(ctx, variant["ModelName"])  # Could not find model "arn:..."


def _check_capture(ctx: Context, request: Request) -> None:
    """A capture destination the object store can write: an s3://bucket[/prefix] URI without `.` or `..` parts
    (the service model's pattern also lets `https://...` and other buckets' spellings through)."""
    destination = (request.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    if destination is None:
        return
    try:
        _, key = split(destination, prefix=True)
    except ObjectError:
        raise ValidationException(
            f"DataCaptureConfig.DestinationS3Uri {destination!r} is not an s3://bucket/prefix URI clarimon can "
            "write captured data to.") from None
    if any(part in (".", "..") for part in key.split("/")):
        raise ValidationException(
            f"DataCaptureConfig.DestinationS3Uri {destination!r}: '.' and '..' are not allowed in the prefix.")


def _summary(item: Resource) -> Response:
    return {"EndpointConfigName": item.name, "EndpointConfigArn": item.arn, "CreationTime": item.creation_time}


FAMILY = Family(
    kind="endpoint-config",
    name="EndpointConfigName",
    arn="EndpointConfigArn",
    list_operation="ListEndpointConfigs",
    summaries="EndpointConfigs",
    summary=_summary,
    not_found=lambda name, arn: ValidationException(f'Could not find endpoint configuration "{arn}".'),
    taken=lambda name, arn: ValidationException(f'Cannot create already existing endpoint configuration "{arn}".'),
    checks=(_check_variants, _check_capture),
)

create, describe, list_, delete = FAMILY.create, FAMILY.describe, FAMILY.list_, FAMILY.delete
