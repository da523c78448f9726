"""Outbound I/O: ClickHouse and Stripe, batched, idempotent and retried."""
