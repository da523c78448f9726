"""ClickHouse: the client, the retrying row sink, time formatting, DDL migrations, the stores
that read and write settlement rows and the ledger of Stripe reports, and the reads behind the billing
API (``usage_queries``) and the demo's report (``demo_queries``)."""
