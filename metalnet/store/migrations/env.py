"""Alembic environment: runs on the connection :func:`metalnet.store.db.migrate` passes."""

from alembic import context

from metalnet.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
