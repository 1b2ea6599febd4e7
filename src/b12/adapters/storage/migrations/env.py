"""Alembic's entry point: b12 runs migrations itself, on a connection it passes in (see migrate.py)."""

from __future__ import annotations

from alembic import context

from b12.adapters.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=False)
with context.begin_transaction():
    context.run_migrations()
