"""Event and record models (pydantic v2), their decoding, the SDK, Kafka partitioning and the ClickHouse DDL."""
