"""Alembic environment: migrations run on the connection ``streams.store.db.migrate`` hands in."""

from __future__ import annotations

from alembic import context

from streams.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations with streams.store.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
