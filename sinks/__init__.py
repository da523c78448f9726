"""Outbound I/O: ClickHouse (``clickhouse``) and Stripe (``stripe``), batched, idempotent and retried."""
