"""One schema: the migrations, applied to an empty database, build exactly what `store.tables` declares.

Alembic's comparison (as mlflow tests its schema) sees tables, columns, types, nullability, indexes and
constraints; it does not compare collations, so the test compares those itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clarimon.store import Store, tables


def differences(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), tables.metadata))


def collations(store: Store) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Each column's collation: as declared for this dialect, and as the database has it."""
    dialect = store.engine.dialect
    declared = {f"{table.name}.{column.name}": getattr(column.type.dialect_impl(dialect), "collation", None)
                for table in tables.metadata.tables.values() for column in table.columns}
    inspector = sa.inspect(store.engine)
    found = {f"{name}.{column['name']}": getattr(column["type"], "collation", None)
             for name in tables.metadata.tables for column in inspector.get_columns(name)}
    return declared, found


def test_migrations_build_the_declared_schema(store: Store) -> None:
    assert differences(store) == []
    declared, found = collations(store)
    assert declared == found
    if store.dialect == "postgresql":
        assert found["resources.name"] == "C"  # names sort byte-wise
