-- Usage alerts (docs/architecture.md §6): 80 % / 100 % of an included quota, hard cap reached, entitlement
-- violation, fair use exceeded — raised once per account, metric, period and kind (a replayed alert
-- collapses on the sorting key).
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    account_id LowCardinality(String),
    metric     LowCardinality(String),
    period     String COMMENT 'YYYY-MM of the usage period start',
    kind       LowCardinality(String) COMMENT 'quota_80 | quota_100 | hard_cap | not_entitled | fair_use',
    threshold  Decimal(38, 9),
    used       Decimal(38, 9) COMMENT 'period-to-date usage when the alert was raised',
    at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(at)
PARTITION BY substring(period, 1, 4)
ORDER BY (account_id, period, metric, kind)
COMMENT 'usage alerts, one per account, metric, period and kind';
