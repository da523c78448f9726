-- Issue 14. Receivables mirrored from the billing store (its source of truth; docs/analytics.md,
-- "Receivables"): every change of a finalized invoice's receivable state, and the latest state per invoice.
-- Amounts in the currency's minor units (cents). Re-mirroring a change replaces it (same `event_id`).
CREATE TABLE IF NOT EXISTS {db}.receivable_history
(
    event_id        UInt64 COMMENT 'the billing store''s change id, increasing',
    invoice_id      String,
    account_id      String,
    number          String COMMENT 'sequential per seller, gapless',
    currency        LowCardinality(String),
    status          LowCardinality(String) COMMENT 'open | paid | void | uncollectible',
    amount_due      Int64,
    amount_paid     Int64,
    issued_at       DateTime64(3, 'UTC'),
    due_date        Date,
    reason          LowCardinality(String) COMMENT 'finalize, payment, api_pay, void, reissued, uncollectible, ...',
    at              DateTime64(3, 'UTC') COMMENT 'when the state changed'
)
ENGINE = ReplacingMergeTree
ORDER BY (invoice_id, event_id);

CREATE TABLE IF NOT EXISTS {db}.receivables
(
    event_id        UInt64 COMMENT 'the latest change mirrored',
    invoice_id      String,
    account_id      String,
    number          String,
    currency        LowCardinality(String),
    status          LowCardinality(String),
    amount_due      Int64,
    amount_paid     Int64,
    issued_at       DateTime64(3, 'UTC'),
    due_date        Date,
    reason          LowCardinality(String),
    at              DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(event_id)
ORDER BY invoice_id;
