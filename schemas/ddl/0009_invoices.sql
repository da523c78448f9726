-- Invoices (docs/architecture.md §10): finalized from settled data only at period end + grace, never edited after;
-- a late event becomes a `correction:` line of a later period. `document` is the JSON invoice
-- document `meterline invoice preview` prints. Amounts are rounded to cents.
CREATE TABLE IF NOT EXISTS {db}.invoices
(
    invoice_id      String COMMENT 'deterministic: in_<account>_<period>',
    account_id      String,
    period          String,
    period_start    DateTime('UTC'),
    period_end      DateTime('UTC'),
    tier            LowCardinality(String) COMMENT 'tier at the period end',
    status          LowCardinality(String) COMMENT 'final',
    currency        LowCardinality(String),
    subtotal        Decimal(18, 2),
    total           Decimal(18, 2),
    finalized_at    DateTime64(3, 'UTC'),
    document        String
)
ENGINE = ReplacingMergeTree(finalized_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (account_id, period_start);

CREATE TABLE IF NOT EXISTS {db}.invoice_lines
(
    invoice_id      String,
    account_id      String,
    period          String,
    period_start    DateTime('UTC'),
    line_no         UInt16,
    code            LowCardinality(String) COMMENT 'base_fee, seats, api_calls_overage, correction:<code>, ...',
    description     String,
    quantity        Decimal(38, 9),
    unit_price      Decimal(38, 9),
    amount          Decimal(18, 2),
    finalized_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(finalized_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (account_id, period_start, line_no);

-- A late event's effect on a finalized invoice, billed on a later period's invoice (docs/architecture.md §7).
-- `amount` is what the source period's lines would now total minus what was finalized, per code.
CREATE TABLE IF NOT EXISTS {db}.invoice_corrections
(
    account_id      String,
    source_period   String COMMENT 'the finalized period the late usage belongs to',
    code            LowCardinality(String) COMMENT 'the line code it corrects',
    target_period   String COMMENT 'the open period whose invoice carries it',
    quantity        Decimal(38, 9),
    amount          Decimal(38, 9),
    found_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(found_at)
ORDER BY (account_id, source_period, code, target_period);
