-- Issue 15. Contract and retention metrics (docs/analytics.md, "Contracts and retention"): ACV per contract
-- year, logo and revenue churn by tier, net revenue retention, a CLV estimate. Revenue is what the finalized
-- invoices charged; the recurring part (MRR) is v_mrr's.

-- ACV per contract and contract year. A contract is an account with a `platform_fee` line on a finalized
-- invoice or a contract on its subscription. Its contract year starts on an anniversary of the account's
-- (latest) anchor. `annual_fees`: the year's platform fee lines (billed once a year, in advance);
-- `recurring`: every other charge of the year (seats, base fees, usage, premium features, storage, add-ons,
-- commitment true-ups; not tax, credits or corrections); `acv` = annual_fees + recurring x 12 / periods,
-- `periods` being the finalized invoices of the year so far (a full year: 12).
CREATE VIEW IF NOT EXISTS {db}.v_acv AS
SELECT
    i.account_id AS account_id,
    argMax(i.tier, i.period_start) AS tier,
    addYears(a.anchor, intDiv(dateDiff('month', a.anchor, toDate(i.period_start)), 12)) AS contract_year_start,
    count() AS periods,
    sum(l.annual) AS annual_fees,
    sum(l.other) AS recurring,
    round(sum(l.annual) + toDecimal128(sum(l.other), 6) * 12 / count(), 2) AS acv
FROM (SELECT invoice_id, account_id, tier, period_start FROM {db}.invoices FINAL WHERE status = 'final') AS i
INNER JOIN
(
    SELECT
        invoice_id,
        sumIf(amount, code = 'platform_fee') AS annual,
        sumIf(amount, code != 'platform_fee' AND NOT startsWith(code, 'tax:') AND NOT startsWith(code, 'credit:')
            AND NOT startsWith(code, 'correction:')) AS other
    FROM {db}.invoice_lines FINAL
    GROUP BY invoice_id
) AS l ON l.invoice_id = i.invoice_id
INNER JOIN
(
    SELECT account_id, argMax(anchor, (effective_from, version)) AS anchor, max(contract != '') AS contracted
    FROM {db}.subscriptions FINAL
    GROUP BY account_id
) AS a ON a.account_id = i.account_id
WHERE a.contracted
    OR i.account_id IN (SELECT account_id FROM {db}.invoice_lines FINAL WHERE code = 'platform_fee')
GROUP BY account_id, contract_year_start;

-- Logo and revenue churn per calendar month and tier. The base is the accounts with MRR in the month
-- before (v_mrr; `tier` is theirs then); churned are those of them canceled in the month (v_churn).
-- logo_churn_rate = churned / accounts; revenue_churn_rate = the churned accounts' MRR of the month before
-- / all the tier's MRR of the month before (ratios rounded to 4 places).
CREATE VIEW IF NOT EXISTS {db}.v_churn_by_tier AS
SELECT
    b.month AS month,
    b.tier AS tier,
    b.accounts AS accounts,
    c.churned AS churned,
    round(c.churned / b.accounts, 4) AS logo_churn_rate,
    b.tier_mrr AS mrr,
    c.churned_mrr AS churned_mrr,
    round(toFloat64(c.churned_mrr) / toFloat64(b.tier_mrr), 4) AS revenue_churn_rate
FROM
(
    SELECT addMonths(month, 1) AS month, tier, uniqExact(account_id) AS accounts, sum(mrr) AS tier_mrr
    FROM {db}.v_mrr
    GROUP BY month, tier
    HAVING tier_mrr > 0
) AS b
LEFT JOIN
(
    SELECT ch.month AS month, p.tier AS tier, uniqExact(p.account_id) AS churned, sum(p.mrr) AS churned_mrr
    FROM (SELECT DISTINCT month, account_id FROM {db}.v_churn) AS ch
    INNER JOIN (SELECT addMonths(month, 1) AS month, account_id, tier, mrr FROM {db}.v_mrr) AS p
        ON p.account_id = ch.account_id AND p.month = ch.month
    GROUP BY month, tier
) AS c ON c.month = b.month AND c.tier = b.tier
WHERE b.month <= (SELECT toStartOfMonth(max(period_start)) FROM {db}.invoices FINAL WHERE status = 'final');

-- Net revenue retention per calendar month and tier: the accounts with MRR twelve months before (`tier`:
-- theirs then), their MRR then (`starting_mrr`) and now (`retained_mrr`: expansion and contraction
-- included, churned accounts at 0); nrr = retained / starting, rounded to 4 places. Months up to the last
-- finalized period only (annual fees reach ahead in v_mrr).
CREATE VIEW IF NOT EXISTS {db}.v_nrr AS
SELECT
    b.target AS month,
    b.tier AS tier,
    count() AS accounts,
    sum(b.account_mrr) AS starting_mrr,
    sum(e.account_mrr) AS retained_mrr,
    round(toFloat64(sum(e.account_mrr)) / toFloat64(sum(b.account_mrr)), 4) AS nrr
FROM
(
    SELECT addMonths(month, 12) AS target, account_id, argMax(tier, mrr) AS tier, sum(mrr) AS account_mrr
    FROM {db}.v_mrr
    GROUP BY month, account_id
    HAVING account_mrr > 0
) AS b
LEFT JOIN
(
    SELECT month, account_id, sum(mrr) AS account_mrr FROM {db}.v_mrr GROUP BY month, account_id
) AS e ON e.account_id = b.account_id AND e.month = b.target
WHERE b.target <= (SELECT toStartOfMonth(max(period_start)) FROM {db}.invoices FINAL WHERE status = 'final')
GROUP BY month, tier;

-- A customer lifetime value estimate per calendar month and tier: clv = ARPA x gross margin / monthly logo
-- churn, with ARPA = the tier's MRR of the month before / its accounts (v_churn_by_tier), gross margin =
-- 1 - AI cost / revenue of the tier's finalized invoices of the trailing twelve months (v_ai_margin; 1 without
-- revenue), and churn = the trailing twelve months' churned / accounts (v_churn_by_tier). No churn in the twelve
-- months: clv is NULL (unbounded), `expected_lifetime_months` too. Money (arpa, clv) and the margin are Decimal,
-- never Float64; the churn ratios are statistics of counts.
CREATE VIEW IF NOT EXISTS {db}.v_clv AS
SELECT
    m.month AS month,
    m.tier AS tier,
    round(toDecimal128(m.mrr, 6) / m.accounts, 2) AS arpa,
    round(if(g.revenue > 0, toDecimal128(1, 10) - toDecimal128(g.ai_cost, 10) / g.revenue, toDecimal128(1, 10)), 4)
        AS gross_margin,
    round(t.churned / t.accounts, 4) AS churn_rate,
    if(t.churned > 0, round(t.accounts / t.churned, 2), NULL) AS expected_lifetime_months,
    if(t.churned > 0, round(arpa * gross_margin * t.accounts / t.churned, 2), NULL) AS clv
FROM {db}.v_churn_by_tier AS m
INNER JOIN
(
    SELECT x.month AS month, x.tier AS tier, sum(y.churned) AS churned, sum(y.accounts) AS accounts
    FROM (SELECT DISTINCT month, tier FROM {db}.v_churn_by_tier) AS x
    INNER JOIN (SELECT month, tier, churned, accounts FROM {db}.v_churn_by_tier) AS y ON y.tier = x.tier
    WHERE y.month > addMonths(x.month, -12) AND y.month <= x.month
    GROUP BY month, tier
) AS t ON t.month = m.month AND t.tier = m.tier
LEFT JOIN
(
    SELECT x.month AS month, x.tier AS tier, sum(v.revenue) AS revenue, sum(v.ai_cost) AS ai_cost
    FROM (SELECT DISTINCT month, tier FROM {db}.v_churn_by_tier) AS x
    INNER JOIN (SELECT tier, toStartOfMonth(period_start) AS month, revenue, ai_cost FROM {db}.v_ai_margin) AS v
        ON v.tier = x.tier
    WHERE v.month > addMonths(x.month, -12) AND v.month <= x.month
    GROUP BY month, tier
) AS g ON g.month = m.month AND g.tier = m.tier;
