"""Models: Create, Describe, List, Delete (what an endpoint configuration's variants serve)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clarimon.control import buckets
from clarimon.control.context import Context, Request, Response
from clarimon.control.families import Family
from clarimon.errors import ValidationException
from clarimon.serving.runtimes import LoadError, check_entry_point
from clarimon.store import resources
from clarimon.store.resources import Resource

# Where data others write lands: capture destinations (an endpoint configuration's, a batch transform's) and the
# outputs of processing jobs and job definitions. A model archive may not come from there: a captured request's
# bytes are the caller's to shape, so that would let a request become model code.
WRITTEN_KINDS = ("endpoint-config", "model-explainability-job-definition", "processing-job", "monitoring-schedule")
# What a deployment checks again (a destination set up after the model): the kinds under a quota. Processing jobs
# grow with every monitoring execution, whose outputs lie under their job definition's anyway.
DESTINATION_KINDS = ("endpoint-config", "model-explainability-job-definition")
_WRITTEN_MEMBERS = ("output", "destination")


def _check_containers(ctx: Context, request: Request) -> None:
    containers = containers_of(request)
    if request.get("PrimaryContainer") and request.get("Containers"):
        raise ValidationException("Specify either PrimaryContainer or Containers, not both.")
    if not containers:
        raise ValidationException("Specify a PrimaryContainer or at least one of Containers.")


def _check_code(ctx: Context, request: Request) -> None:
    """Entry points inside the model, and archives that are not captured data or a job's output."""
    for container in containers_of(request):
        try:
            check_entry_point(dict(container.get("Environment") or {}))
        except LoadError as error:
            raise ValidationException(str(error)) from None
        refuse_written_archives(ctx, container)


def containers_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's containers: its PrimaryContainer, or its Containers."""
    return [c for c in [document.get("PrimaryContainer"), *(document.get("Containers") or [])] if c]


def refuse_written_archives(ctx: Context, container: dict[str, Any],
                            kinds: tuple[str, ...] = WRITTEN_KINDS) -> None:
    """ValidationException when the container's ModelDataUrl or s3:// SAGEMAKER_SUBMIT_DIRECTORY lies in a data
    capture destination or a job's output location named by a resource of `kinds` (of any account: the place is
    not named)."""
    named = [("ModelDataUrl", container.get("ModelDataUrl")),
             ("SAGEMAKER_SUBMIT_DIRECTORY", (container.get("Environment") or {}).get("SAGEMAKER_SUBMIT_DIRECTORY"))]
    archives = [(member, uri) for member, uri in named if isinstance(uri, str) and uri.startswith("s3://")]
    if not archives:
        return
    with ctx.store.reading() as conn:
        for place in _written_places(resources.documents(conn, kinds)):
            for member, uri in archives:
                if _within(uri, place):
                    raise ValidationException(
                        f"{member} {uri[:256]!r} is in a location where SageMaker writes data (a data capture "
                        "destination or a processing job's output): a model archive cannot be read from there.")


def _written_places(documents: Iterator[dict[str, Any]]) -> Iterator[str]:
    for document in documents:
        for path, uri in buckets.uris(document):
            if any(word in path.lower() for word in _WRITTEN_MEMBERS):
                yield uri


def _within(uri: str, place: str) -> bool:
    """Whether the object `uri` is `place` or under its prefix."""
    place = place.rstrip("/")
    return uri == place or uri.startswith(place + "/")


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
    checks=(_check_containers, _check_code),
)

create, describe, list_, delete = FAMILY.create, FAMILY.describe, FAMILY.list_, FAMILY.delete
