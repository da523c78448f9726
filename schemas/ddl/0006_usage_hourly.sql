-- Settled usage (docs/architecture.md §7): each closed hour recomputed from `events`, deduplicated by (source, event_id), per
-- billing account, user, metric and dimension, split by the subscription version in effect at each
-- event's own time. Written again (same key, later settled_at) when late events change an hour, so
-- read it with FINAL (or argMax by settled_at). Ordered for per-account / per-metric / per-hour scans.
CREATE TABLE IF NOT EXISTS {db}.usage_hourly
(
    account_id      String COMMENT 'billing account: the org while its subscription is billable, else the user',
    routing_account String COMMENT 'account_id of the events (org_id when set, else user_id)',
    user_id         String,
    metric          LowCardinality(String),
    dimension       String COMMENT 'premium_feature: the feature; ai_requests: provider/model; else empty',
    hour            DateTime('UTC') COMMENT 'window start; the window is [hour, hour + 1h)',
    sub_version     UInt64 COMMENT 'subscription version the events were rated under (0: none, default tier)',
    tier            LowCardinality(String),
    quantity        Decimal(38, 9) COMMENT 'sum of quantities; storage_gb: the last reading of the hour',
    events          UInt64 COMMENT 'distinct events',
    input_tokens    UInt64,
    output_tokens   UInt64,
    ai_cost         Decimal(38, 9) COMMENT 'platform cost of the AI requests, USD (catalog ai_costs)',
    settled_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(settled_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (account_id, metric, hour, routing_account, user_id, dimension, sub_version)
COMMENT 'settled hourly usage (see docs/analytics.md)';
