"""Model explainability job definitions: Create, Describe, List, Delete."""

from __future__ import annotations

from clarimon.control import arns, listing, quotas, tagging
from clarimon.control.context import Context, Request, Response
from clarimon.errors import ResourceNotFound, ValidationException
from clarimon.store import resources

KIND = "model-explainability-job-definition"


def create(ctx: Context, request: Request) -> Response:
    _check_input(request)
    tags = tagging.creation_tags(request)
    name = request["JobDefinitionName"]
    arn = arns.arn(ctx, KIND, name)
    document = {k: v for k, v in request.items() if k != "Tags"}
    endpoint = (request["ModelExplainabilityJobInput"].get("EndpointInput") or {}).get("EndpointName")
    with ctx.store.transaction(conflict=f"Job definition {name} already exists.") as conn:
        quotas.reserve(ctx, conn, KIND)
        resources.insert(conn, kind=KIND, account=ctx.account, region=ctx.region, name=name, arn=arn,
                         now=ctx.now(), document=document, tags=tags, endpoint_name=endpoint)
    return {"JobDefinitionArn": arn}


def describe(ctx: Context, request: Request) -> Response:
    with ctx.store.reading() as conn:
        resource = resources.get(conn, _arn(ctx, request))
    if resource is None:
        raise _not_found(request)
    return {
        **resource.document,
        "JobDefinitionArn": resource.arn,
        "JobDefinitionName": resource.name,
        "CreationTime": resource.creation_time,
    }


def list_(ctx: Context, request: Request) -> Response:
    page = listing.list_resources(ctx, "ListModelExplainabilityJobDefinitions", KIND, request)
    summaries = []
    for item in page.items:
        summary = {
            "MonitoringJobDefinitionName": item.name,
            "MonitoringJobDefinitionArn": item.arn,
            "CreationTime": item.creation_time,
        }
        if item.endpoint_name is not None:
            summary["EndpointName"] = item.endpoint_name
        summaries.append(summary)
    response: Response = {"JobDefinitionSummaries": summaries}
    if page.next_token:
        response["NextToken"] = page.next_token
    return response


def delete(ctx: Context, request: Request) -> Response:
    with ctx.store.transaction() as conn:
        if not resources.delete(conn, _arn(ctx, request)):
            raise _not_found(request)
    return {}


def _arn(ctx: Context, request: Request) -> str:
    return arns.arn(ctx, KIND, request["JobDefinitionName"])


def _not_found(request: Request) -> ResourceNotFound:
    return ResourceNotFound(f"Could not find job definition {request['JobDefinitionName']}.")


def _check_input(request: Request) -> None:
    """Choices the service model cannot express: one input source, one batch dataset format."""
    job_input = request["ModelExplainabilityJobInput"]
    sources = [k for k in ("EndpointInput", "BatchTransformInput") if job_input.get(k) is not None]
    if len(sources) != 1:
        raise ValidationException(
            "ModelExplainabilityJobInput must specify exactly one of EndpointInput or BatchTransformInput;"
            f" got {len(sources)}."
        )
    batch = job_input.get("BatchTransformInput")
    if batch is not None:
        formats = [k for k in ("Csv", "Json", "Parquet") if batch["DatasetFormat"].get(k) is not None]
        if len(formats) != 1:
            raise ValidationException(
                "BatchTransformInput.DatasetFormat must specify exactly one of Csv, Json or Parquet;"
                f" got {len(formats)}."
            )
