"""The notifications outbox: a row per status change, written by the transaction that makes the change, claimed
by one server at a time, and deleted once every receiver has it.

A change is recorded only on a write connection whose store is notifying (`Store.notifying`, set by a server
with `--notify-url`), so a server without receivers lets no rows pile up.
"""

from __future__ import annotations

import time as wall_clock
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from clarimon.store.database import NOTIFYING
from clarimon.store.tables import outbox

# The resources whose status changes are notified (as SageMaker sends events for them); monitoring executions
# (store.executions) and alerts are notified too.
RESOURCE_KINDS = frozenset({"processing-job", "endpoint"})
EXECUTION = "execution"
ALERT = "alert"


@dataclass(frozen=True)
class Event:
    """One outbox row: what changed and how far its delivery got."""

    id: int
    event_id: str
    kind: str
    account: str
    region: str
    resource: str
    status: str
    previous_status: str | None
    time: float
    snapshot: dict[str, Any]
    attempts: int
    next_attempt: float
    delivered_to: tuple[str, ...]


def notifying(conn: Connection) -> bool:
    """Whether changes made on this connection are recorded."""
    return bool(conn.info.get(NOTIFYING))


def record(conn: Connection, *, kind: str, account: str, region: str, resource: str, status: str,
           previous_status: str | None, time: float, snapshot: dict[str, Any]) -> None:
    """A status change at `time` (the service clock), as an event due to be sent now (nothing when not
    notifying)."""
    if not notifying(conn):
        return
    conn.execute(outbox.insert().values(
        event_id=str(uuid.uuid4()), kind=kind, account=account, region=region, resource=resource, status=status,
        previous_status=previous_status, time=time, snapshot=orjson.dumps(snapshot).decode(), attempts=0,
        next_attempt=wall_clock.time(), claimed_by=None, claimed_until=None, delivered_to=None, last_error=None,
    ))


def any_due(conn: Connection, now: float) -> bool:
    """Whether some event is due and claimable at `now`."""
    c = outbox.c
    query = sa.select(c.id).where(c.next_attempt <= now, sa.or_(c.claimed_by.is_(None), c.claimed_until < now))
    return conn.execute(query.limit(1)).first() is not None


def claim(conn: Connection, owner: str, now: float, lease_seconds: float, limit: int) -> list[Event]:
    """Up to `limit` due events nobody is sending (or whose sender's claim ran out), oldest first, claimed for
    `owner` until `now + lease_seconds`.

    PostgreSQL: the rows are locked with SKIP LOCKED, so servers claiming at once take different rows; SQLite
    runs one writer at a time."""
    c = outbox.c
    query = (sa.select(outbox)
             .where(c.next_attempt <= now, sa.or_(c.claimed_by.is_(None), c.claimed_until < now))
             .order_by(c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = [_event(row) for row in conn.execute(query)]
    if events:
        conn.execute(outbox.update().where(c.id.in_([e.id for e in events]))
                     .values(claimed_by=owner, claimed_until=now + lease_seconds))
    return events


def delivered(conn: Connection, event_id: int) -> None:
    """Every receiver has the event: it leaves the outbox."""
    conn.execute(outbox.delete().where(outbox.c.id == event_id))


def retry(conn: Connection, event_id: int, owner: str, *, at: float, delivered_to: tuple[str, ...],
          error: str, failed: bool = True) -> None:
    """The event is due again at `at`, remembering who already has it (only while `owner` still holds the
    claim); `failed`: a delivery failed (an attempt counted), else the sender ran out of time for it."""
    c = outbox.c
    conn.execute(outbox.update().where(c.id == event_id, c.claimed_by == owner).values(
        attempts=c.attempts + 1 if failed else c.attempts, next_attempt=at, claimed_by=None, claimed_until=None,
        delivered_to=orjson.dumps(list(delivered_to)).decode(), last_error=error[:1024] if failed else c.last_error))


def release_gone(conn: Connection, gone: Callable[[str], bool]) -> int:
    """Drop the claims of senders that no longer exist (`gone(owner)`); returns how many were dropped."""
    c = outbox.c
    owners = [row.claimed_by for row in
              conn.execute(sa.select(c.claimed_by).where(c.claimed_by.is_not(None)).distinct())]
    dead = [owner for owner in owners if gone(owner)]
    if not dead:
        return 0
    return int(conn.execute(outbox.update().where(c.claimed_by.in_(dead))
                            .values(claimed_by=None, claimed_until=None)).rowcount)


def oldest(conn: Connection, limit: int = 100) -> list[Event]:
    """The `limit` oldest events in the outbox, claimed or not."""
    return [_event(row) for row in conn.execute(sa.select(outbox).order_by(outbox.c.id).limit(limit))]


def pending(conn: Connection) -> int:
    """How many events wait to be sent."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())


def _event(row: Row[Any]) -> Event:
    return Event(id=row.id, event_id=row.event_id, kind=row.kind, account=row.account, region=row.region,
                 resource=row.resource, status=row.status, previous_status=row.previous_status, time=row.time,
                 snapshot=orjson.loads(row.snapshot), attempts=row.attempts, next_attempt=row.next_attempt,
                 delivered_to=tuple(orjson.loads(row.delivered_to)) if row.delivered_to else ())
