"""The rows the worker writes to ClickHouse (provisional usage, subscriptions)."""
