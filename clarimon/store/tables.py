"""The schema: the tables queries are written against. It is the one source: a new migration is generated from
it (`clarimon db revision`, `store.revisions`), and tests/store/test_tables.py checks that
the migrations build exactly this on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Names sort byte-wise on both dialects: PostgreSQL's locale collations would order '-' differently.
NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")

# Every resource is its validated request document plus the columns that lists filter and sort on.
resources = sa.Table(
    "resources",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("arn", sa.String(512), nullable=False, unique=True),
    sa.Column("creation_time", sa.Float(precision=53), nullable=False),
    sa.Column("last_modified_time", sa.Float(precision=53), nullable=False),
    sa.Column("endpoint_name", sa.String(63), nullable=True),
    sa.Column("status", sa.String(64), nullable=True),
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("tags", sa.Text(), nullable=False),
    sa.Column("job_definition_name", sa.String(63), nullable=True),  # monitoring schedules
    sa.Column("monitoring_type", sa.String(32), nullable=True),
    sa.Index("resources_by_scope_time", "account", "region", "kind", "creation_time", "id"),
    sa.Index("resources_by_scope_name", "account", "region", "kind", "name", "id"),
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
    sa.Index("executions_by_schedule", "account", "region", "schedule_name", "scheduled_time"),
    # covers /metrics' executions by status (counted since the schedule's creation) without reading the rows
    sa.Index("executions_by_schedule_status", "account", "region", "schedule_name", "status", "creation_time"),
)

# Which server runs a processing job, and when it last said so: a stale heartbeat means the server died.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("job_arn", sa.String(512), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("heartbeat", sa.Float(precision=53), nullable=False),
)

# The account an s3:// bucket belongs to: claimed by the first account that uses it in a create.
buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("claimed_time", sa.Float(precision=53), nullable=False),
)

# What an execution found, recorded when it ended (or, for executions that ended before this table existed, by
# the startup backfill from their analysis.json): read by /metrics, the alerts and the console, never the files.
execution_results = sa.Table(
    "execution_results",
    metadata,
    sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=False),  # executions.id
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("schedule_name", sa.String(63), nullable=False),
    sa.Column("scheduled_time", sa.Float(precision=53), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("endpoint_name", sa.String(63), nullable=True),
    sa.Column("job_definition_name", sa.String(63), nullable=True),
    sa.Column("start_time", sa.Float(precision=53), nullable=True),  # None: the job's process never started
    sa.Column("end_time", sa.Float(precision=53), nullable=False),
    sa.Column("output_uri", sa.String(1024), nullable=True),
    sa.Column("publish_metrics", sa.Boolean(), nullable=False),  # Environment publish_cloudwatch_metrics
    sa.Column("violations", sa.Text(), nullable=False),  # constraint_violations.json's list, as JSON
    sa.Index("execution_results_by_schedule", "account", "region", "schedule_name", "scheduled_time",
             "execution_id"),
)

# Per execution and model output (label): the expected values, the NDCG of the ranking against the baseline, and
# each feature's global attribution beside the baseline's, as JSON `[[feature, value, baseline], ...]` in
# analysis.json's order (None where one side lacks the feature). One row per label rather than one per feature:
# a schedule's history of 1,000 executions of 30 features is read as 1,000 rows, not 30,000.
execution_labels = sa.Table(
    "execution_labels",
    metadata,
    sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("label", sa.String(256), primary_key=True),
    sa.Column("expected_value", sa.Float(precision=53), nullable=True),
    sa.Column("baseline_expected_value", sa.Float(precision=53), nullable=True),
    sa.Column("ndcg", sa.Float(precision=53), nullable=True),  # None: no baseline for this label
    sa.Column("threshold", sa.Float(precision=53), nullable=False),
    sa.Column("attributions", sa.Text(), nullable=False),
)

# Every transition of a monitoring alert (OK -> InAlert and back); the latest one is the alert's status.
alert_history = sa.Table(
    "alert_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("schedule_name", sa.String(63), nullable=False),
    sa.Column("alert_name", sa.String(63), nullable=False),
    sa.Column("creation_time", sa.Float(precision=53), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("execution_id", sa.BigInteger(), nullable=True),  # the execution whose ending caused it, if one did
    sa.Index("alert_history_by_scope_time", "account", "region", "creation_time", "id"),
    sa.Index("alert_history_by_alert", "account", "region", "schedule_name", "alert_name", "id"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# The notifications outbox: an event per status change, written in the transaction that makes the change, and
# deleted once every receiver has it (clarimon.jobs.notifications). `claimed_by` / `claimed_until` say which
# server is sending it, so that with several servers on one database each event is sent by one of them.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),  # processing-job | endpoint | execution | alert
    sa.Column("account", sa.String(12), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("resource", sa.String(512), nullable=False),  # the ARN (an execution: its job's, else schedule name)
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("previous_status", sa.String(64), nullable=True),
    sa.Column("time", sa.Float(precision=53), nullable=False),  # when the change happened (the event's time)
    sa.Column("snapshot", sa.Text(), nullable=False),  # the changed row as JSON, which the event is made from
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt", sa.Float(precision=53), nullable=False),  # wall-clock epoch seconds
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", sa.Float(precision=53), nullable=True),
    sa.Column("delivered_to", sa.Text(), nullable=True),  # JSON list of the receivers that already have it
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Index("outbox_due", "next_attempt", "id"),
)
