-- Rated usage lines (docs/architecture.md §6): `settled` lines per billing account, period, metric and hour (what
-- the hour added to the period's charge, rated by rating/ on settled usage), and the live stage's
-- `provisional` deltas from `usage.rated`. Money columns keep full precision (invoice lines are
-- rounded once, in `invoice_lines`). Settled lines are re-written when a late event moves an hour.
CREATE TABLE IF NOT EXISTS {db}.rated_usage
(
    account_id       String,
    period           String COMMENT 'usage period, named by its start month (YYYY-MM)',
    period_start     DateTime('UTC'),
    metric           LowCardinality(String),
    dimension        String,
    hour             DateTime('UTC') COMMENT 'settled: the window; provisional: the hour it was rated in',
    kind             LowCardinality(String) COMMENT 'settled | provisional',
    line_id          String COMMENT 'settled: empty; provisional: unique per live delta',
    tier             LowCardinality(String),
    quantity         Decimal(38, 9) COMMENT 'usage this line adds',
    period_to_date   Decimal(38, 9),
    included         Decimal(38, 9) COMMENT 'of quantity: within the included quota',
    billable         Decimal(38, 9) COMMENT 'of quantity: billed as overage',
    unit_price       Decimal(38, 9),
    amount           Decimal(38, 9) COMMENT 'USD, full precision',
    catalog_version  String,
    sub_version      UInt64,
    rated_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rated_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (account_id, period_start, metric, dimension, kind, hour, line_id)
COMMENT 'rated usage lines, settled and provisional (see docs/analytics.md)';
