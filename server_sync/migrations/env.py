"""Alembic environment: always run on the connection the server hands over (never an ini URL)."""

from __future__ import annotations

from alembic import context

from server_sync.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
