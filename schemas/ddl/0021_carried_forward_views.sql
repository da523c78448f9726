-- A final invoice never owes below zero: what it is below zero is carried to the next open period, a
-- `carried_forward` line (docs/rating.md "Corrections"). It is no charge: the ACV leaves it out of `recurring`.
-- A commitment counts the charges of its own period (a correction belongs to the period it corrects), so its
-- utilisation's `charged` leaves out the corrections an invoice carries and the carried amount too.
CREATE OR REPLACE VIEW {db}.v_acv AS
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
            AND NOT startsWith(code, 'correction:') AND code != 'carried_forward') AS other
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

CREATE OR REPLACE VIEW {db}.v_commitment_utilisation AS
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
            AND NOT startsWith(code, 'correction:') AND code NOT IN ('commitment_true_up', 'carried_forward')) AS charged,
        sumIf(amount, code = 'commitment_true_up') AS true_up
    FROM {db}.invoice_lines FINAL
    GROUP BY invoice_id
    HAVING true_up > 0
) AS l ON l.invoice_id = i.invoice_id;
