"""Event and record models (pydantic v2) and the ClickHouse DDL."""
