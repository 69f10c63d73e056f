"""The tables queries are written against; `migrations/` creates and evolves them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Every resource is its validated request document plus the columns that lists filter and sort on.
resources = sa.Table(
    "resources",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("arn", sa.String(512), nullable=False, unique=True),
    sa.Column("creation_time", sa.Float(precision=53), nullable=False),
    sa.Column("last_modified_time", sa.Float(precision=53), nullable=False),
    sa.Column("endpoint_name", sa.String(63), nullable=True),
    sa.Column("status", sa.String(64), nullable=True),
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("tags", sa.Text(), nullable=False),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)
