"""Create, Describe, List and Delete for a family of named resources, stored as their request documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from clarimon.control import arns, buckets, listing, quotas, tagging
from clarimon.control.context import Context, Request, Response
from clarimon.errors import ServiceError
from clarimon.store import resources
from clarimon.store.resources import Resource

Check = Callable[[Context, Request], None]
AfterCreate = Callable[[Context, str, Request], None]
Columns = Callable[[Context, Request], dict[str, Any]]
Opening = Callable[[Request, float], tuple[str, dict[str, Any]]]
OnDelete = Callable[[Context, Connection, Resource], None]


@dataclass(frozen=True)
class Family:
    """One resource family's names on the wire and its errors.

    kind: the ARN's resource type; name/arn: the request and response members naming it; list_operation and
    summaries: the List operation and its response member; summary: a list entry of a stored resource;
    not_found / taken: the errors SageMaker gives, from the name and the ARN; endpoint_of: the endpoint a
    request names (lists filter on it); check: rules the service model cannot express, run before storing."""

    kind: str
    name: str
    arn: str
    list_operation: str
    summaries: str
    summary: Callable[[Resource], Response]
    not_found: Callable[[str, str], ServiceError]
    taken: Callable[[str, str], ServiceError]
    endpoint_of: Callable[[Request], str | None] = lambda request: None
    checks: tuple[Check, ...] = field(default_factory=tuple)
    status: str | None = None  # the status a new resource starts in
    # The Describe member of the status (EndpointStatus): a family with one also describes its LastModifiedTime.
    status_member: str | None = None
    # Instead of `status`: the status and document members a request starts with, given the creation time (a
    # processing job clarimon cannot run starts Failed, saying why).
    opening: Opening | None = None
    after_create: AfterCreate | None = None  # work that follows a committed create (an endpoint's deployment)
    columns: Columns | None = None  # indexed columns other than the endpoint (a schedule's job definition)
    # In the deleting transaction, before the row goes: refuses by raising (a job definition in use) or ends what
    # depends on the resource (a schedule's running executions).
    on_delete: OnDelete | None = None

    def create(self, ctx: Context, request: Request) -> Response:
        """Create: the checks, the quota, the buckets of its URIs, the stored document and its columns, then
        `after_create`."""
        for check in self.checks:
            check(ctx, request)
        tags = tagging.creation_tags(request)
        name = request[self.name]
        arn = arns.arn(ctx, self.kind, name)
        now = ctx.now()
        status, opened = self.opening(request, now) if self.opening is not None else (self.status, {})
        document = {**{k: v for k, v in request.items() if k != "Tags"}, **opened}
        columns = {"endpoint_name": self.endpoint_of(request), **(self.columns(ctx, request) if self.columns else {})}
        with ctx.store.transaction(conflict=self.taken(name, arn)) as conn:
            quotas.reserve(ctx, conn, self.kind)
            buckets.check(ctx, conn, request)  # every s3:// URI in the caller's buckets; claims roll back with the rest
            resources.insert(conn, kind=self.kind, account=ctx.account, region=ctx.region, name=name, arn=arn,
                             now=now, document=document, tags=tags, status=status, **columns)
        if self.after_create is not None:
            self.after_create(ctx, arn, request)
        return {self.arn: arn}

    def describe(self, ctx: Context, request: Request) -> Response:
        """Describe: the stored document with the family's ARN, times and status."""
        return self.described(self.get(ctx, request[self.name]))

    def described(self, resource: Resource) -> Response:
        """A stored resource as its Describe operation answers: the request it was made with, and its state."""
        response = {**resource.document, self.arn: resource.arn, self.name: resource.name,
                    "CreationTime": resource.creation_time}
        if self.status_member is not None:
            response.update({self.status_member: resource.status, "LastModifiedTime": resource.last_modified_time})
        return response

    def get(self, ctx: Context, name: str) -> Resource:
        """The stored resource of this name in the caller's account and region, or the family's not-found."""
        arn = arns.arn(ctx, self.kind, name)
        with ctx.store.reading() as conn:
            resource = resources.get(conn, arn)
        if resource is None:
            raise self.not_found(name, arn)
        return resource

    def list_(self, ctx: Context, request: Request) -> Response:
        """List: the caller's resources of this family, filtered, sorted and paginated."""
        page = listing.list_resources(ctx, self.list_operation, self.kind, request)
        response: Response = {self.summaries: [self.summary(item) for item in page.items]}
        if page.next_token:
            response["NextToken"] = page.next_token
        return response

    def delete(self, ctx: Context, request: Request) -> Response:
        """Delete: `on_delete` in the same transaction, then the row; the family's not-found error if there is none."""
        name = request[self.name]
        arn = arns.arn(ctx, self.kind, name)
        with ctx.store.transaction() as conn:
            resource = resources.get(conn, arn, for_update=True)
            if resource is None:
                raise self.not_found(name, arn)
            if self.on_delete is not None:
                self.on_delete(ctx, conn, resource)
            resources.delete(conn, arn)
        return {}
