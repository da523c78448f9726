"""The ClickHouse DDL, one numbered file per migration (applied by ``sinks.clickhouse.migrations``)."""
