"""Alembic migrations of the billing store (run by ``streams.store.db.migrate``)."""
