"""execution results and alert history

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add what executions found and the alerts' history (results of executions that ended before are filled
    by a server's start: `control.results_backfill`)."""
    op.create_table(
        "alert_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("schedule_name", sa.String(length=63), nullable=False),
        sa.Column("alert_name", sa.String(length=63), nullable=False),
        sa.Column("creation_time", sa.Float(precision=53), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("alert_history_by_alert", "alert_history",
                    ["account", "region", "schedule_name", "alert_name", "id"], unique=False)
    op.create_index("alert_history_by_scope_time", "alert_history", ["account", "region", "creation_time", "id"],
                    unique=False)
    op.create_table(
        "execution_labels",
        sa.Column("execution_id", ID, autoincrement=False, nullable=False),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("expected_value", sa.Float(precision=53), nullable=True),
        sa.Column("baseline_expected_value", sa.Float(precision=53), nullable=True),
        sa.Column("ndcg", sa.Float(precision=53), nullable=True),
        sa.Column("threshold", sa.Float(precision=53), nullable=False),
        sa.Column("attributions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "label"),
    )
    op.create_table(
        "execution_results",
        sa.Column("execution_id", ID, autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("schedule_name", sa.String(length=63), nullable=False),
        sa.Column("scheduled_time", sa.Float(precision=53), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("endpoint_name", sa.String(length=63), nullable=True),
        sa.Column("job_definition_name", sa.String(length=63), nullable=True),
        sa.Column("start_time", sa.Float(precision=53), nullable=True),
        sa.Column("end_time", sa.Float(precision=53), nullable=False),
        sa.Column("output_uri", sa.String(length=1024), nullable=True),
        sa.Column("publish_metrics", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id"),
    )
    op.create_index("execution_results_by_schedule", "execution_results",
                    ["account", "region", "schedule_name", "scheduled_time", "execution_id"], unique=False)
    op.create_index("executions_by_schedule_status", "executions",
                    ["account", "region", "schedule_name", "status", "creation_time"], unique=False)


def downgrade() -> None:
    """Drop them."""
    op.drop_index("executions_by_schedule_status", table_name="executions")
    op.drop_index("execution_results_by_schedule", table_name="execution_results")
    op.drop_table("execution_results")
    op.drop_table("execution_labels")
    op.drop_index("alert_history_by_scope_time", table_name="alert_history")
    op.drop_index("alert_history_by_alert", table_name="alert_history")
    op.drop_table("alert_history")
