"""The warehouse sink: the agents that copy topics into ClickHouse tables in batches, and the rows they
write (provisional usage, subscriptions)."""
