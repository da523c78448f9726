-- Settlement bookkeeping: one row per run (the windows it closed and the stored_at watermark of late
-- events it picked up) and every difference between the live view and the settled totals (docs/architecture.md §7).
CREATE TABLE IF NOT EXISTS {db}.settlement_runs
(
    run_at          DateTime64(3, 'UTC'),
    until           DateTime('UTC') COMMENT 'windows ending at or before this are settled',
    stored_after    DateTime64(3, 'UTC') COMMENT 'late events stored after this ...',
    stored_until    DateTime64(3, 'UTC') COMMENT '... and up to this were picked up',
    windows         UInt64 COMMENT 'account-hours recomputed',
    accounts        UInt64,
    finalized       UInt64 COMMENT 'invoices finalized by this run'
)
ENGINE = MergeTree
ORDER BY run_at;

CREATE TABLE IF NOT EXISTS {db}.settlement_diffs
(
    account_id      String,
    period          String,
    metric          LowCardinality(String),
    live_quantity   Decimal(38, 9) COMMENT 'period-to-date of the live view (provisional lines)',
    settled_quantity Decimal(38, 9),
    difference      Decimal(38, 9) COMMENT 'live - settled: > 0 after a crash replay, < 0 if the live view missed events',
    found_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(found_at)
ORDER BY (account_id, period, metric);
