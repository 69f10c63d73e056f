"""Persistence: SQLAlchemy Core over SQLite (default) or PostgreSQL, schema under Alembic."""

from clarimon.store.database import Store

__all__ = ["Store"]
