-- Raw accepted usage events: the durable, deduplicated source every settled figure is computed from.
-- ReplacingMergeTree collapses a replayed event (same sorting key) at merge time; queries that must be
-- exact before a merge use `FINAL` or `LIMIT 1 BY source, event_id` (the dedupe key, docs/events.md).
-- Monthly partitions match billing periods; the sorting key serves the analysts' per-account /
-- per-metric / per-hour scans. Stores created before 0011 had `event_id` alone at the end of the key:
-- 0011 rebuilds them.
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id      String,
    account_id    String COMMENT 'routing account: org_id when set, else user_id',
    user_id       String,
    org_id        Nullable(String),
    metric        LowCardinality(String),
    quantity      Decimal(38, 9),
    ts_ms         Int64 COMMENT 'event time, epoch milliseconds (as carried on usage.accepted)',
    timestamp     DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(ts_ms, 'UTC') COMMENT 'event time, UTC',
    properties    Map(String, String),
    source        LowCardinality(String),
    stored_at     DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row reached ClickHouse',
    provider      LowCardinality(String) MATERIALIZED properties['provider'],
    model         LowCardinality(String) MATERIALIZED properties['model'],
    feature       LowCardinality(String) MATERIALIZED properties['feature'],
    input_tokens  UInt64 MATERIALIZED toUInt64OrZero(properties['input_tokens']),
    output_tokens UInt64 MATERIALIZED toUInt64OrZero(properties['output_tokens'])
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (account_id, metric, toStartOfHour(timestamp), source, event_id)
COMMENT 'accepted usage events, deduplicated by (source, event_id) (see docs/analytics.md)';
