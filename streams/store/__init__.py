"""The billing API's relational store: organizations, members, API keys, subscriptions, outbox.

SQLAlchemy 2 models (``models``), the engine and sessions (``db``), Alembic migrations
(``migrations``) and the outbox relays (``relays``: to Kafka, and the Stripe mirror). SQLite by default,
PostgreSQL with the same code.
"""
