-- Issue 14. A void invoice reissued under its own id (`<void invoice id>-r<n>`) and number: its own document,
-- kept apart from `invoices` (ordered by account and period, where a second document of the period would replace
-- the first, and whose revenue views must not count an invoice twice) (docs/invoices.md, "Reissuing").
CREATE TABLE IF NOT EXISTS {db}.invoice_reissues
(
    invoice_id      String COMMENT 'in_<account>_<period>-r<n>',
    reissue_of      String COMMENT 'the void invoice it replaces (itself perhaps a reissue)',
    account_id      String,
    period          String,
    period_start    DateTime('UTC'),
    period_end      DateTime('UTC'),
    tier            LowCardinality(String),
    status          LowCardinality(String) COMMENT 'final',
    currency        LowCardinality(String),
    subtotal        Decimal(18, 2),
    total           Decimal(18, 2),
    finalized_at    DateTime64(3, 'UTC') COMMENT 'when it was reissued (its issue date)',
    document        String
)
ENGINE = ReplacingMergeTree(finalized_at)
ORDER BY (account_id, invoice_id);

-- Every invoice document issued: those settlement finalized and their reissues (`reissue_of` empty on the first).
CREATE VIEW IF NOT EXISTS {db}.v_invoice_documents AS
SELECT invoice_id, '' AS reissue_of, account_id, period, period_start, period_end, tier, status, currency,
       subtotal, total, finalized_at, document
FROM {db}.invoices FINAL
UNION ALL
SELECT invoice_id, reissue_of, account_id, period, period_start, period_end, tier, status, currency,
       subtotal, total, finalized_at, document
FROM {db}.invoice_reissues FINAL;
