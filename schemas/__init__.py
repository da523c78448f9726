"""Event and record models (pydantic v2), their decoding, dead-letter reasons, identifiers, the SDK and
its entitlement cache, JSON Schema export, Kafka partitioning and the ClickHouse DDL."""
