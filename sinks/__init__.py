"""Outbound I/O: ClickHouse (``clickhouse``) and Stripe (``stripe``), batched, idempotent and retried
(one retry policy and loop for both: ``retry``)."""
