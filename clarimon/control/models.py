"""Models: Create, Describe, List, Delete (what an endpoint configuration's variants serve)."""

from __future__ import annotations

from clarimon.control.context import Context, Request, Response
from clarimon.control.families import Family
from clarimon.errors import ValidationException
from clarimon.store.resources import Resource


def _check_containers(ctx: Context, request: Request) -> None:
    containers = [c for c in [request.get("PrimaryContainer"), *(request.get("Containers") or [])] if c]
    if request.get("PrimaryContainer") and request.get("Containers"):
        raise ValidationException("Specify either PrimaryContainer or Containers, not both.")
    if not containers:
        raise ValidationException("Specify a PrimaryContainer or at least one of Containers.")


def _summary(item: Resource) -> Response:
    return {"ModelName": item.name, "ModelArn": item.arn, "CreationTime": item.creation_time}


# SageMaker answers both a missing and a taken model name with ValidationException, in these words.
FAMILY = Family(
    kind="model",
    name="ModelName",
    arn="ModelArn",
    list_operation="ListModels",
    summaries="Models",
    summary=_summary,
    not_found=lambda name, arn: ValidationException(f'Could not find model "{arn}".'),
    taken=lambda name, arn: ValidationException(f'Cannot create already existing model "{arn}".'),
    checks=(_check_containers,),
)

create, describe, list_, delete = FAMILY.create, FAMILY.describe, FAMILY.list_, FAMILY.delete
