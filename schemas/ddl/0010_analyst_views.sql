-- Analysts' views (docs/analytics.md). Plain views over the settled tables: nothing is stored twice,
-- every figure is recomputed from the same rows settlement and invoicing read, and each view reads
-- the ReplacingMergeTree tables it uses with FINAL, so a re-settled hour or a re-written line counts
-- once even before a merge. Only portable SQL (no chDB-only functions): they run the same on a
-- ClickHouse server. Money stays Decimal; ratios are Float64.

-- Usage per billing account, user, metric (and dimension: premium feature, or AI provider/model)
-- and UTC day. Built on usage_hourly (settled, deduplicated by (source, event_id)) rather than events, so it
-- agrees with what was billed and stays cheap (one row per hour, not per event). Counts add up over
-- the day; storage_gb is a gauge, so the day's value is the last hourly reading, never a sum. A day
-- can straddle a tier change: `tier` is the tier of the day's last settled hour.
CREATE VIEW IF NOT EXISTS {db}.v_usage_daily AS
SELECT
    day,
    account_id,
    user_id,
    metric,
    dimension,
    argMax(h_tier, h_hour) AS tier,
    if(metric = 'storage_gb', argMax(h_quantity, h_hour), sum(h_quantity)) AS quantity,
    sum(h_events) AS events,
    sum(h_input_tokens) AS input_tokens,
    sum(h_output_tokens) AS output_tokens,
    sum(h_ai_cost) AS ai_cost
FROM
(
    -- renamed so no output alias shadows a column it is computed from (same result on every analyzer)
    SELECT
        toDate(hour) AS day, account_id, user_id, metric, dimension, hour AS h_hour, tier AS h_tier,
        quantity AS h_quantity, events AS h_events, input_tokens AS h_input_tokens,
        output_tokens AS h_output_tokens, ai_cost AS h_ai_cost
    FROM {db}.usage_hourly FINAL
)
GROUP BY day, account_id, user_id, metric, dimension;

-- Revenue and overage per usage period (YYYY-MM of the period start) and tier, from finalized
-- invoices only: invoices are never edited, so these figures never move once a period is closed
-- (late usage shows up as `corrections` of a later period). `tier` is invoices.tier, the tier at
-- the period end: a subscription canceled during the period counts under the catalog's default
-- tier. Lines are summed per invoice first, then joined to the header, so an invoice without lines
-- (a free account) still counts, and revenue is the header total (the sum of rounded lines).
CREATE VIEW IF NOT EXISTS {db}.v_revenue_by_tier AS
SELECT
    i.period AS period,
    i.tier AS tier,
    count() AS invoices,
    uniqExact(i.account_id) AS accounts,
    sum(i.total) AS revenue,
    sum(l.fees) AS fees,
    sum(l.seats) AS seats,
    sum(l.overage) AS overage,
    sum(l.premium_features) AS premium_features,
    sum(l.addons) AS addons,
    sum(l.corrections) AS corrections
FROM
(
    SELECT invoice_id, account_id, period, tier, total
    FROM {db}.invoices FINAL
    WHERE status = 'final'
) AS i
LEFT JOIN
(
    SELECT
        invoice_id,
        sumIf(amount, code IN ('base_fee', 'base_fee_proration', 'platform_fee')) AS fees,
        sumIf(amount, code = 'seats') AS seats,
        sumIf(amount, code IN ('api_calls_overage', 'storage_overage')) AS overage,
        sumIf(amount, startsWith(code, 'premium_feature:')) AS premium_features,
        sumIf(amount, startsWith(code, 'addon:')) AS addons,
        sumIf(amount, startsWith(code, 'correction:')) AS corrections
    FROM {db}.invoice_lines FINAL
    GROUP BY invoice_id
) AS l ON l.invoice_id = i.invoice_id
GROUP BY period, tier;

-- MRR and ARR per account, calendar month and plan tier. Catalog prices are not in ClickHouse (and
-- contracts override them), so MRR is read from what finalized invoices charged. Definition:
--   MRR(account, month) = the `base_fee` of a monthly plan and the `seats` line on the invoice of
--   the period starting in that month
--   + each annual fee line (`platform_fee`, and `base_fee` / `base_fee_proration` when the plan in
--   effect at the period end is yearly) spread evenly over the months from its period to the next
--   anniversary of the anchor (a full year: amount / 12 for 12 months),
--   counted only while the subscription in effect at that month's period start is not canceled.
--   ARR = 12 x MRR (computed before MRR is cut to 6 decimals, so a $499.90 year is $499.90 of ARR).
-- A monthly `base_fee_proration` (an upgrade inside a period) is a one-off catch-up, not run rate:
-- the new fee counts from the next finalized invoice. Months after the last finalized invoice of a
-- monthly plan have no MRR yet (the period is still open). `tier` is the plan the fee was charged
-- for (the subscription in effect at the end of the invoiced period; the invoice's tier when the
-- history lacks the account). The version in effect at T is the latest effective_from <= T (ASOF
-- JOIN on the history; the highest `version` wins per effective_from, as in settlement).
CREATE VIEW IF NOT EXISTS {db}.v_mrr AS
SELECT
    toStartOfMonth(x.as_of) AS month,
    x.account_id AS account_id,
    x.tier AS tier,
    sumIf(x.share, NOT x.annual AND x.code = 'base_fee') AS monthly_fees,
    sumIf(x.share, x.annual) AS annual_fees,
    sumIf(x.share, x.code = 'seats') AS seats,
    sum(x.share) AS mrr,
    sum(x.yearly) AS arr
FROM
(
    SELECT
        f.account_id AS account_id,
        f.code AS code,
        f.tier AS tier,
        f.annual AS annual,
        addMonths(f.period_start, k) AS as_of,
        toDateTime64(addMonths(f.period_start, k), 3, 'UTC') AS as_of64,
        if(f.annual, toDecimal128(f.amount, 6) / f.months, toDecimal128(f.amount, 6)) AS share,
        if(f.annual, toDecimal128(f.amount, 6) * 12 / f.months, toDecimal128(f.amount, 6) * 12) AS yearly
    FROM
    (
        SELECT
            li.account_id AS account_id,
            li.period_start AS period_start,
            li.code AS code,
            li.amount AS amount,
            if(p.tier != '', p.tier, li.invoice_tier) AS tier,
            li.code = 'platform_fee' OR (li.code IN ('base_fee', 'base_fee_proration') AND p.interval = 'year') AS annual,
            if(p.account_id = '', 12, ((toMonth(p.anchor) + 11 - toMonth(li.period_start)) % 12) + 1) AS months
        FROM
        (
            SELECT l.account_id AS account_id, l.period_start AS period_start, l.code AS code, l.amount AS amount,
                   h.tier AS invoice_tier, toDateTime64(h.period_end, 3, 'UTC') - toIntervalMillisecond(1) AS last_ms
            FROM (
                SELECT invoice_id, account_id, period_start, code, amount
                FROM {db}.invoice_lines FINAL
                WHERE code IN ('base_fee', 'base_fee_proration', 'platform_fee', 'seats')
            ) AS l
            INNER JOIN (SELECT invoice_id, tier, period_end FROM {db}.invoices FINAL WHERE status = 'final') AS h
                ON h.invoice_id = l.invoice_id
        ) AS li
        ASOF LEFT JOIN
        (
            SELECT account_id, effective_from, argMax(tier, version) AS tier, argMax(interval, version) AS interval,
                   argMax(anchor, version) AS anchor
            FROM {db}.subscriptions FINAL
            GROUP BY account_id, effective_from
        ) AS p ON p.account_id = li.account_id AND li.last_ms >= p.effective_from
        WHERE li.code != 'base_fee_proration' OR p.interval = 'year'
    ) AS f
    ARRAY JOIN if(f.annual, range(toUInt8(f.months)), [toUInt8(0)]) AS k
) AS x
ASOF LEFT JOIN
(
    SELECT account_id, effective_from, argMax(status, version) AS status
    FROM {db}.subscriptions FINAL
    GROUP BY account_id, effective_from
) AS s ON s.account_id = x.account_id AND x.as_of64 >= s.effective_from
WHERE s.status != 'canceled'
GROUP BY month, account_id, tier;

-- Churn: one row per account whose subscription went to `canceled` (the status of a version whose
-- previous version was not canceled), dated by that version's effective_from; `month` is its
-- calendar month. Read from the subscriptions history (every version ever published), deduplicated
-- per effective_from by the highest version as settlement does. An account canceled, reactivated and
-- canceled again churns twice; a first version that is already canceled is not a churn.
CREATE VIEW IF NOT EXISTS {db}.v_churn AS
SELECT
    toStartOfMonth(effective_from) AS month,
    account_id,
    account_kind,
    effective_from AS canceled_at,
    previous_tier,
    previous_interval,
    previous_status
FROM
(
    SELECT
        account_id,
        account_kind,
        effective_from,
        status,
        lagInFrame(status, 1, 'canceled') OVER w AS previous_status,
        lagInFrame(tier, 1, '') OVER w AS previous_tier,
        lagInFrame(interval, 1, '') OVER w AS previous_interval
    FROM
    (
        SELECT
            account_id,
            effective_from,
            argMax(account_kind, version) AS account_kind,
            argMax(tier, version) AS tier,
            argMax(status, version) AS status,
            argMax(interval, version) AS interval
        FROM {db}.subscriptions FINAL
        GROUP BY account_id, effective_from
    )
    WINDOW w AS (PARTITION BY account_id ORDER BY effective_from ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
WHERE status = 'canceled' AND previous_status != 'canceled';

-- AI provider cost vs revenue per account and finalized period (margin per customer). Cost is the
-- settled usage_hourly.ai_cost (catalog price per provider/model and token); revenue is the
-- invoice total (fees, seats, overage, corrections: everything the customer paid for the period).
-- Each settled hour is assigned to the account's period by ASOF JOIN on the invoices' period starts
-- (periods follow each account's anchor day, so calendar months would not match the invoice).
-- Only finalized periods appear; an account that used AI but pays nothing shows a negative margin.
CREATE VIEW IF NOT EXISTS {db}.v_ai_margin AS
SELECT
    i.account_id AS account_id,
    i.period AS period,
    i.period_start AS period_start,
    i.tier AS tier,
    i.total AS revenue,
    c.ai_requests AS ai_requests,
    c.input_tokens AS input_tokens,
    c.output_tokens AS output_tokens,
    c.ai_cost AS ai_cost,
    i.total - c.ai_cost AS margin,
    if(i.total > 0, toFloat64(i.total - c.ai_cost) / toFloat64(i.total), NULL) AS margin_ratio
FROM
(
    SELECT account_id, period, period_start, tier, total FROM {db}.invoices FINAL WHERE status = 'final'
) AS i
LEFT JOIN
(
    SELECT
        u.account_id AS account_id,
        p.period_start AS period_start,
        sum(u.quantity) AS ai_requests,
        sum(u.input_tokens) AS input_tokens,
        sum(u.output_tokens) AS output_tokens,
        sum(u.ai_cost) AS ai_cost
    FROM
    (
        SELECT account_id, hour, sum(quantity) AS quantity, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(ai_cost) AS ai_cost
        FROM {db}.usage_hourly FINAL
        WHERE metric = 'ai_requests'
        GROUP BY account_id, hour
    ) AS u
    ASOF INNER JOIN
    (
        SELECT account_id, period_start, period_end FROM {db}.invoices FINAL WHERE status = 'final'
    ) AS p ON p.account_id = u.account_id AND u.hour >= p.period_start
    WHERE u.hour < p.period_end
    GROUP BY account_id, period_start
) AS c ON c.account_id = i.account_id AND c.period_start = i.period_start;

-- Seats: distinct users with active_user usage per billing account (an organization while its
-- subscription is billable) and usage period. The period of each settled hour is taken from the
-- settled rated_usage lines (written by settlement for every settled hour, with the account's own
-- anchored period), so the count matches the invoice's `seats` line for seat-priced tiers, also for
-- periods not finalized yet. `tier`: the tier of the period's last active hour.
CREATE VIEW IF NOT EXISTS {db}.v_seats AS
SELECT
    p.account_id AS account_id,
    p.period AS period,
    p.period_start AS period_start,
    argMax(u.tier, u.hour) AS tier,
    uniqExact(u.user_id) AS seats
FROM
(
    SELECT account_id, hour, user_id, tier
    FROM {db}.usage_hourly FINAL
    WHERE metric = 'active_user' AND quantity > 0
) AS u
INNER JOIN
(
    SELECT DISTINCT account_id, hour, period, period_start
    FROM {db}.rated_usage FINAL
    WHERE kind = 'settled' AND metric = 'active_user'
) AS p ON p.account_id = u.account_id AND p.hour = u.hour
GROUP BY account_id, period, period_start;
