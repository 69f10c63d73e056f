"""Tags on every resource clarimon owns: AddTags, ListTags, DeleteTags, and tags given at creation."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from clarimon.control import arns, pagination
from clarimon.control.context import Context, Request, Response
from clarimon.errors import ValidationException
from clarimon.store import resources
from clarimon.store.resources import Resource, Tag

MAX_TAGS = 50
LIST_TAGS_DEFAULT = 50


def creation_tags(request: Request) -> list[Tag]:
    """The `Tags` of a Create request, checked for repeated keys."""
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in request.get("Tags") or []]
    keys = [t["Key"] for t in tags]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValidationException(f"Tag keys must be unique; repeated: {', '.join(repeated)}.")
    return tags


def add(ctx: Context, request: Request) -> Response:
    """AddTags: add or overwrite tags of a resource the caller owns."""
    added = creation_tags(request)
    arn = _owned_arn(request["ResourceArn"])
    with ctx.store.transaction() as conn:
        resource = _find(ctx, conn, arn, for_update=True)
        merged = {t["Key"]: t["Value"] for t in resource.tags}
        merged.update((t["Key"], t["Value"]) for t in added)
        if len(merged) > MAX_TAGS:
            raise ValidationException(
                f"A resource can have at most {MAX_TAGS} tags; {request['ResourceArn']} would have {len(merged)}."
            )
        resources.set_tags(conn, arn, [{"Key": k, "Value": v} for k, v in merged.items()])
    return {"Tags": added}


def delete(ctx: Context, request: Request) -> Response:
    """DeleteTags: remove the named keys."""
    arn = _owned_arn(request["ResourceArn"])
    removed = set(request["TagKeys"])
    with ctx.store.transaction() as conn:
        resource = _find(ctx, conn, arn, for_update=True)
        resources.set_tags(conn, arn, [t for t in resource.tags if t["Key"] not in removed])
    return {}


def list_(ctx: Context, request: Request) -> Response:
    """ListTags: a resource's tags, paginated."""
    arn = _owned_arn(request["ResourceArn"])
    with ctx.store.reading() as conn:
        resource = _find(ctx, conn, arn)
    limit = int(request.get("MaxResults", LIST_TAGS_DEFAULT))
    scope = {"op": "ListTags", "arn": arn, "account": ctx.account, "region": ctx.region}
    start = 0
    if request.get("NextToken"):
        start = pagination.decode(ctx.store.secret(), request["NextToken"], scope)
        if not isinstance(start, int) or start < 0:
            raise ValidationException("The NextToken is not valid for this request.")
    response: Response = {"Tags": resource.tags[start : start + limit]}
    if start + limit < len(resource.tags):
        response["NextToken"] = pagination.encode(ctx.store.secret(), scope, start + limit)
    return response


def _owned_arn(text: str) -> str:
    arn = arns.canonical(text)
    if arn is None:
        raise ValidationException(f"Could not find resource {text}: not a SageMaker resource ARN.")
    return arn


def _find(ctx: Context, conn: Connection, arn: str, for_update: bool = False) -> Resource:
    resource = resources.get(conn, arn, for_update=for_update)
    # Another account's or region's resource does not exist for this caller. SageMaker answers tag calls
    # on a missing resource with ValidationException, not ResourceNotFound.
    if resource is None or resource.account != ctx.account or resource.region != ctx.region:
        raise ValidationException(f"Could not find resource {arn}.")
    return resource
