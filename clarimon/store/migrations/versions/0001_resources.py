"""Resources and settings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Names sort byte-wise on both dialects: PostgreSQL's locale collations would order '-' differently.
    """Create the resources and settings tables."""
    name_type = sa.String(256, collation="C") if op.get_bind().dialect.name == "postgresql" else sa.String(256)
    op.create_table(
        "resources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("name", name_type, nullable=False),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("creation_time", sa.Float(precision=53), nullable=False),
        sa.Column("last_modified_time", sa.Float(precision=53), nullable=False),
        sa.Column("endpoint_name", sa.String(63), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
    )
    op.create_index("resources_by_scope_time", "resources", ["account", "region", "kind", "creation_time", "id"])
    op.create_index("resources_by_scope_name", "resources", ["account", "region", "kind", "name", "id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("settings")
    op.drop_index("resources_by_scope_name", table_name="resources")
    op.drop_index("resources_by_scope_time", table_name="resources")
    op.drop_table("resources")
