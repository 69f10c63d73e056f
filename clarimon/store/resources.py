"""Queries on the resources table: insert, fetch by ARN, delete, count, and keyset-paginated lists."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from clarimon.nulls import without_nulls
from clarimon.store import outbox
from clarimon.store.tables import resources

Tag = dict[str, str]


@dataclass(frozen=True)
class Resource:
    """One stored resource: the indexed columns, its request document and its tags."""

    id: int
    kind: str
    account: str
    region: str
    name: str
    arn: str
    creation_time: float
    last_modified_time: float
    endpoint_name: str | None
    status: str | None
    document: dict[str, Any]
    tags: list[Tag]
    job_definition_name: str | None = None
    monitoring_type: str | None = None


@dataclass(frozen=True)
class Bound:
    """A List time filter: epoch seconds, and whether a time equal to it passes (`inclusive`)."""

    at: float
    inclusive: bool = False


@dataclass(frozen=True)
class ListQuery:
    """A page of one kind of resource in one account and region, filtered and sorted."""

    kind: str
    account: str
    region: str
    limit: int
    sort_by: str = "CreationTime"  # Name | CreationTime | Status
    descending: bool = True
    name_contains: str | None = None
    endpoint_name: str | None = None
    status: str | None = None
    created_before: Bound | None = None
    created_after: Bound | None = None
    modified_before: Bound | None = None
    modified_after: Bound | None = None
    job_definition_name: str | None = None
    monitoring_type: str | None = None
    after: tuple[Any, int] | None = None


def insert(
    conn: Connection,
    *,
    kind: str,
    account: str,
    region: str,
    name: str,
    arn: str,
    now: float,
    document: dict[str, Any],
    tags: list[Tag],
    endpoint_name: str | None = None,
    status: str | None = None,
    job_definition_name: str | None = None,
    monitoring_type: str | None = None,
) -> None:
    """Store a new resource; a taken ARN raises IntegrityError (the transaction maps it). A notified kind's
    status is an event in the outbox."""
    conn.execute(
        resources.insert().values(
            kind=kind,
            account=account,
            region=region,
            name=name,
            arn=arn,
            creation_time=now,
            last_modified_time=now,
            endpoint_name=endpoint_name,
            status=status,
            document=orjson.dumps(without_nulls(document)).decode(),
            tags=orjson.dumps(tags).decode(),
            job_definition_name=job_definition_name,
            monitoring_type=monitoring_type,
        )
    )
    if status is not None and kind in outbox.RESOURCE_KINDS and outbox.notifying(conn):
        _notify(conn, arn, None)


def get(conn: Connection, arn: str, *, for_update: bool = False) -> Resource | None:
    """The resource with this ARN, or None; `for_update` locks its row until the transaction ends."""
    query = sa.select(resources).where(resources.c.arn == arn)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _resource(row) if row is not None else None


def delete(conn: Connection, arn: str) -> bool:
    """Remove the resource with this ARN; False when there was none."""
    return conn.execute(resources.delete().where(resources.c.arn == arn)).rowcount > 0


def count(conn: Connection, kind: str, account: str, region: str) -> int:
    """How many resources of `kind` the account has in the region."""
    query = sa.select(sa.func.count()).select_from(resources).where(_scope(kind, account, region))
    return int(conn.execute(query).scalar_one())


def set_tags(conn: Connection, arn: str, tags: list[Tag]) -> None:
    """Replace the resource's tags."""
    conn.execute(resources.update().where(resources.c.arn == arn).values(tags=orjson.dumps(tags).decode()))


def update(conn: Connection, arn: str, now: float, *, status: str | None = None,
           document: dict[str, Any] | None = None, columns: dict[str, Any] | None = None) -> bool:
    """Change a resource's status, document and/or indexed `columns`; False when it is gone. A notified kind's
    change of status is an event in the outbox, in the same transaction."""
    values: dict[str, Any] = {"last_modified_time": now, **(columns or {})}
    before = None
    if status is not None:
        values["status"] = status
        if outbox.notifying(conn):
            before = conn.execute(sa.select(resources.c.kind, resources.c.status).where(resources.c.arn == arn)).first()
    if document is not None:
        values["document"] = orjson.dumps(without_nulls(document)).decode()
    changed = conn.execute(resources.update().where(resources.c.arn == arn).values(**values)).rowcount > 0
    if changed and before is not None and before.kind in outbox.RESOURCE_KINDS and before.status != status:
        _notify(conn, arn, before.status)
    return changed


def _notify(conn: Connection, arn: str, previous_status: str | None) -> None:
    """The resource's new status as an outbox event, with the resource as it now is."""
    resource = get(conn, arn)
    if resource is None or resource.status is None:
        return
    outbox.record(conn, kind=resource.kind, account=resource.account, region=resource.region, resource=arn,
                  status=resource.status, previous_status=previous_status, time=resource.last_modified_time,
                  snapshot=dataclasses.asdict(resource))


def with_status(conn: Connection, kind: str, statuses: tuple[str, ...]) -> list[Resource]:
    """Every resource of `kind`, in any account and region, whose status is one of `statuses`."""
    query = sa.select(resources).where(resources.c.kind == kind, resources.c.status.in_(statuses))
    return [_resource(row) for row in conn.execute(query.order_by(resources.c.id))]


def of_kind(conn: Connection, kind: str, account: str | None = None, region: str | None = None) -> list[Resource]:
    """Every resource of `kind`, in every account and region unless narrowed, oldest first."""
    c = resources.c
    scope = [column == value for column, value in ((c.account, account), (c.region, region)) if value is not None]
    return [_resource(row) for row in conn.execute(sa.select(resources).where(c.kind == kind, *scope).order_by(c.id))]


def documents(conn: Connection, kinds: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The stored documents of every resource of `kinds`, in any account and region."""
    query = sa.select(resources.c.document).where(resources.c.kind.in_(kinds)).order_by(resources.c.id)
    for row in conn.execute(query):
        yield orjson.loads(row.document)


def with_status_among(conn: Connection, arns: list[str], status: str) -> set[str]:
    """Which of `arns` have `status`."""
    if not arns:
        return set()
    query = sa.select(resources.c.arn).where(resources.c.arn.in_(arns), resources.c.status == status)
    return {row.arn for row in conn.execute(query)}


def page(conn: Connection, query: ListQuery) -> list[Resource]:
    """Up to `query.limit` + 1 resources after the cursor `query.after` (the extra one tells that more follow)."""
    key = _SORT_COLUMNS[query.sort_by]
    conditions = [_scope(query.kind, query.account, query.region)]
    if query.name_contains:
        escaped = query.name_contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(sa.func.lower(resources.c.name).like(f"%{escaped}%", escape="\\"))
    c = resources.c
    conditions += filters(
        [(c.endpoint_name, query.endpoint_name), (c.status, query.status),
         (c.job_definition_name, query.job_definition_name), (c.monitoring_type, query.monitoring_type)],
        [(c.creation_time, query.created_before, query.created_after),
         (c.last_modified_time, query.modified_before, query.modified_after)],
    )
    statement = keyset(sa.select(resources), resources, conditions, key, query)
    return [_resource(row) for row in conn.execute(statement)]


def filters(equal: list[tuple[sa.ColumnElement[Any], Any]],
            between: list[tuple[sa.ColumnElement[Any], Bound | None, Bound | None]]) -> list[sa.ColumnElement[bool]]:
    """The List filters a request gives: `column == value` for each value, and `column < before` and
    `column > after` for each bound (`<=` and `>=` for an inclusive one; a None is no filter)."""
    conditions = [column == value for column, value in equal if value is not None]
    for column, before, after in between:
        if before is not None:
            conditions.append(column <= before.at if before.inclusive else column < before.at)
        if after is not None:
            conditions.append(column >= after.at if after.inclusive else column > after.at)
    return conditions


class _Page(Protocol):
    @property
    def limit(self) -> int: ...

    @property
    def descending(self) -> bool: ...

    @property
    def after(self) -> tuple[Any, int] | None: ...


def keyset(select: sa.Select[Any], table: sa.Table, conditions: list[sa.ColumnElement[bool]],
           key: sa.ColumnElement[Any], query: _Page) -> sa.Select[Any]:
    """`select` narrowed to the page after `query.after` in (key, id) order, one row more than the limit
    (the extra one tells that more follow)."""
    conditions = list(conditions)
    if query.after is not None:
        value, last_id = query.after
        if query.descending:
            conditions.append(sa.or_(key < value, sa.and_(key == value, table.c.id < last_id)))
        else:
            conditions.append(sa.or_(key > value, sa.and_(key == value, table.c.id > last_id)))
    order = (key.desc(), table.c.id.desc()) if query.descending else (key.asc(), table.c.id.asc())
    return select.where(*conditions).order_by(*order).limit(query.limit + 1)


_SORT_COLUMNS = {"Name": resources.c.name, "CreationTime": resources.c.creation_time, "Status": resources.c.status}


def sort_value(resource: Resource, sort_by: str) -> Any:
    """The value a resource sorts by under `sort_by` (for the keyset cursor)."""
    return {"Name": resource.name, "CreationTime": resource.creation_time, "Status": resource.status}[sort_by]


def _scope(kind: str, account: str, region: str) -> sa.ColumnElement[bool]:
    return sa.and_(resources.c.account == account, resources.c.region == region, resources.c.kind == kind)


def _resource(row: Row[Any]) -> Resource:
    return Resource(
        id=row.id,
        kind=row.kind,
        account=row.account,
        region=row.region,
        name=row.name,
        arn=row.arn,
        creation_time=row.creation_time,
        last_modified_time=row.last_modified_time,
        endpoint_name=row.endpoint_name,
        status=row.status,
        document=without_nulls(orjson.loads(row.document)),  # rows stored before nulls were stripped
        tags=orjson.loads(row.tags),
        job_definition_name=row.job_definition_name,
        monitoring_type=row.monitoring_type,
    )
