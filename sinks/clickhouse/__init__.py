"""ClickHouse: the client, the retrying row sink, time formatting, DDL migrations and the stores
that read and write settlement rows and the ledger of Stripe reports."""
