-- Every attempt to report usage to Stripe and its outcome (docs/architecture.md §8): the lasting guard against
-- billing twice (an acknowledged identifier is never sent again) and the reported side of `reconcile`.
CREATE TABLE IF NOT EXISTS {db}.stripe_reports
(
    identifier   String COMMENT 'deterministic: account, meter and settled window',
    account_id   String,
    meter        LowCardinality(String),
    window_start DateTime64(3, 'UTC'),
    value        Int64 COMMENT 'whole meter units',
    attempt      UInt32,
    outcome      LowCardinality(String) COMMENT 'acknowledged | retrying | failed',
    http_status  Nullable(UInt16),
    message      String,
    at           DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (account_id, meter, window_start, identifier, at)
COMMENT 'Stripe meter-event reports: one row per attempt';
