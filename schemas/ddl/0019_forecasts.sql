-- Issue 18. Period-end forecasts (docs/forecasting.md; docs/analytics.md, "Forecasts"): refreshed after each
-- settlement for the accounts it touched, one row per account, period, day of forecast (`as_of`, the last
-- settled midnight) and quantity: `invoice_total` (the invoice with taxes, in the currency) and each summed
-- metric (`api_calls`, `ai_requests`, `premium_feature:<feature>`), and for the platform's AI mix
-- `ai_requests:<provider>/<model>` and `ai_cost:<provider>/<model>` (the platform's cost, USD).
-- Refreshing the same day again replaces the row (the latest `computed_at`): read with FINAL.
CREATE TABLE IF NOT EXISTS {db}.forecasts
(
    account_id      String,
    period          String COMMENT 'YYYY-MM of the period start',
    period_start    DateTime('UTC'),
    period_end      DateTime('UTC'),
    as_of           DateTime('UTC') COMMENT 'the forecast uses the settled days before this midnight',
    days_elapsed    UInt16,
    days_in_period  UInt16,
    metric          LowCardinality(String) COMMENT 'invoice_total, or the metric forecast',
    currency        LowCardinality(String),
    to_date         Decimal(38, 9),
    expected        Decimal(38, 9),
    p10             Decimal(38, 9) COMMENT 'the 80 % interval: p10 to p90',
    p90             Decimal(38, 9),
    computed_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (account_id, period_start, as_of, metric);

-- Forecast against actual: each period's forecasts beside its finalized invoice total.
CREATE VIEW IF NOT EXISTS {db}.v_forecast_accuracy AS
SELECT
    f.account_id AS account_id,
    f.period AS period,
    f.days_elapsed AS days_elapsed,
    f.expected AS expected,
    f.p10 AS p10,
    f.p90 AS p90,
    toDecimal128(i.total, 9) AS actual,
    if(i.total = 0, NULL, abs(toFloat64(f.expected) - toFloat64(i.total)) / toFloat64(i.total)) AS ape,
    (i.total >= f.p10 AND i.total <= f.p90) AS inside_80
FROM {db}.forecasts AS f FINAL
INNER JOIN (SELECT account_id, period_start, total FROM {db}.invoices FINAL) AS i
    ON i.account_id = f.account_id AND i.period_start = f.period_start
WHERE f.metric = 'invoice_total';
