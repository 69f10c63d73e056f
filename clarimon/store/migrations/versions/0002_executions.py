"""Monitoring executions, the schedule columns lists filter on, and job leases.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the schedule columns, the executions and the leases."""
    with op.batch_alter_table("resources") as table:
        table.add_column(sa.Column("job_definition_name", sa.String(63), nullable=True))
        table.add_column(sa.Column("monitoring_type", sa.String(32), nullable=True))
    op.create_table(
        "executions",
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
        # The lease: one row per scheduled time, so a time runs once however many replicas race for it.
        sa.UniqueConstraint("account", "region", "schedule_name", "scheduled_time", name="executions_once"),
    )
    op.create_index("executions_by_schedule", "executions", ["account", "region", "schedule_name", "scheduled_time"])
    op.create_table(
        "leases",
        sa.Column("job_arn", sa.String(512), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("heartbeat", sa.Float(precision=53), nullable=False),
    )


def downgrade() -> None:
    """Remove them."""
    op.drop_table("leases")
    op.drop_index("executions_by_schedule", table_name="executions")
    op.drop_table("executions")
    with op.batch_alter_table("resources") as table:
        table.drop_column("monitoring_type")
        table.drop_column("job_definition_name")
