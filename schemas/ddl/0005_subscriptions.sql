-- Every subscription version ever published on `billing.subscriptions` (docs/architecture.md §4, §10): the history
-- settlement and analysts read "which tier was this account on at time T" from. One row per
-- (account, effective_from, version); a re-published record collapses at merge (ReplacingMergeTree).
CREATE TABLE IF NOT EXISTS {db}.subscriptions
(
    account_id             String,
    account_kind           LowCardinality(String) COMMENT 'user | org',
    tier                   LowCardinality(String),
    status                 LowCardinality(String) COMMENT 'active | trialing | past_due | unpaid | canceled',
    interval               LowCardinality(String) COMMENT 'month | year',
    anchor                 Date COMMENT 'billing anchor day: periods start on this day of the month',
    effective_from         DateTime64(3, 'UTC'),
    version                UInt64,
    stripe_customer_id     String,
    stripe_subscription_id String,
    contract               String COMMENT 'enterprise contract overrides, JSON (empty: none)',
    published_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(published_at)
ORDER BY (account_id, effective_from, version)
COMMENT 'subscription history: the version in effect at T is the latest effective_from <= T';
