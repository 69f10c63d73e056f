"""Bucket owners: which account an `s3://` bucket belongs to (claimed by the first account that uses it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clarimon.store.tables import buckets


def owner(conn: Connection, name: str) -> str | None:
    """The account that owns bucket `name`, None when no account has claimed it."""
    found = conn.execute(sa.select(buckets.c.account).where(buckets.c.name == name)).scalar_one_or_none()
    return None if found is None else str(found)


def claim(conn: Connection, name: str, account: str, now: float) -> None:
    """Record `account` as the owner of bucket `name` (call with the bucket locked, when it has no owner)."""
    conn.execute(sa.insert(buckets).values(name=name, account=account, claimed_time=now))
