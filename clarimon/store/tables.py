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
    sa.Column("job_definition_name", sa.String(63), nullable=True),  # monitoring schedules
    sa.Column("monitoring_type", sa.String(32), nullable=True),
)

# A monitoring execution per schedule and scheduled time; the unique key is the lease that makes a time run once.
executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("schedule_name", sa.String(63), nullable=False),
    sa.Column("scheduled_time", sa.Float(precision=53), nullable=False),
    sa.Column("creation_time", sa.Float(precision=53), nullable=False),
    sa.Column("last_modified_time", sa.Float(precision=53), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("endpoint_name", sa.String(63), nullable=True),
    sa.Column("job_definition_name", sa.String(63), nullable=True),
    sa.Column("monitoring_type", sa.String(32), nullable=True),
    sa.Column("processing_job_arn", sa.String(512), nullable=True),
    sa.Column("failure_reason", sa.Text(), nullable=True),
    sa.UniqueConstraint("account", "region", "schedule_name", "scheduled_time", name="executions_once"),
)

# Which server runs a processing job, and when it last said so: a stale heartbeat means the server died.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("job_arn", sa.String(512), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("heartbeat", sa.Float(precision=53), nullable=False),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)
