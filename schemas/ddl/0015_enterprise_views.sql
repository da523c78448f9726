-- Issue 15. Enterprise metrics from the finalized invoices and settled usage (docs/analytics.md,
-- "Enterprise metrics"): add-on revenue, credit burn, commitment true-ups, feature adoption.

-- Add-on revenue per finalized period, account and add-on (`addon:<name>` lines).
CREATE VIEW IF NOT EXISTS {db}.v_addon_revenue AS
SELECT
    i.period AS period,
    i.account_id AS account_id,
    i.tier AS tier,
    substring(l.code, 7) AS addon,
    sum(l.quantity) AS quantity,
    sum(l.amount) AS revenue
FROM {db}.invoice_lines AS l FINAL
INNER JOIN (SELECT invoice_id, account_id, period, tier FROM {db}.invoices FINAL WHERE status = 'final') AS i
    ON l.invoice_id = i.invoice_id
WHERE startsWith(l.code, 'addon:')
GROUP BY period, account_id, tier, addon;

-- What credit grants paid per finalized period, account and grant (`credit:<grant>` lines, negative on the
-- invoice, positive here), and the charges they paid from.
CREATE VIEW IF NOT EXISTS {db}.v_credit_burn AS
SELECT
    i.period AS period,
    i.account_id AS account_id,
    substring(l.code, 8) AS grant_id,
    -sum(l.amount) AS burned
FROM {db}.invoice_lines AS l FINAL
INNER JOIN (SELECT invoice_id, account_id, period FROM {db}.invoices FINAL WHERE status = 'final') AS i
    ON l.invoice_id = i.invoice_id
WHERE startsWith(l.code, 'credit:')
GROUP BY period, account_id, grant_id;

-- Per finalized invoice that carried a commitment true-up: what counted toward the commitment (every line
-- but tax, credits and the true-up), the true-up, and `utilisation` = charged / (charged + true-up).
CREATE VIEW IF NOT EXISTS {db}.v_commitment_utilisation AS
SELECT
    i.period AS period,
    i.account_id AS account_id,
    i.tier AS tier,
    l.charged AS charged,
    l.true_up AS true_up,
    round(toFloat64(l.charged) / toFloat64(l.charged + l.true_up), 4) AS utilisation
FROM (SELECT invoice_id, account_id, period, tier FROM {db}.invoices FINAL WHERE status = 'final') AS i
INNER JOIN
(
    SELECT
        invoice_id,
        sumIf(amount, NOT startsWith(code, 'tax:') AND NOT startsWith(code, 'credit:')
            AND code != 'commitment_true_up') AS charged,
        sumIf(amount, code = 'commitment_true_up') AS true_up
    FROM {db}.invoice_lines FINAL
    GROUP BY invoice_id
    HAVING true_up > 0
) AS l ON l.invoice_id = i.invoice_id;

-- Share of the accounts with any settled usage in a calendar month that used each premium feature
-- (`premium_feature`) or AI provider/model (`ai_module`) in it.
CREATE VIEW IF NOT EXISTS {db}.v_feature_adoption AS
SELECT
    u.month AS month,
    u.kind AS kind,
    u.feature AS feature,
    u.accounts AS accounts,
    a.active_accounts AS active_accounts,
    round(u.accounts / a.active_accounts, 4) AS share
FROM
(
    SELECT
        toStartOfMonth(day) AS month,
        if(metric = 'premium_feature', 'premium_feature', 'ai_module') AS kind,
        dimension AS feature,
        uniqExactIf(account_id, events > 0) AS accounts
    FROM {db}.v_usage_daily
    WHERE metric IN ('premium_feature', 'ai_requests') AND dimension != ''
    GROUP BY month, kind, feature
) AS u
INNER JOIN
(
    SELECT toStartOfMonth(day) AS month, uniqExactIf(account_id, events > 0) AS active_accounts
    FROM {db}.v_usage_daily
    GROUP BY month
) AS a ON a.month = u.month;
