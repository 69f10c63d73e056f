"""Alembic environment: runs on the connection `Store.upgrade` hands over; `store.tables` is the target that
`store.revisions` generates a new migration from."""

from alembic import context

from clarimon.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
