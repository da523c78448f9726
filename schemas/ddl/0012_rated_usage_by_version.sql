-- Issue 19. (1) `rated_usage` sorted by the subscription version too: in the hour of an upgrade the
-- settled line under the old version and the one under the new version have different keys, so FINAL
-- keeps both (they used to replace each other). A sorting key cannot take an existing column, so the
-- table is rebuilt under the same name from its collapsed rows (FINAL), in one atomic statement that is
-- safe to run again; run it before the workers start (as `meterline db migrate` does): rows inserted
-- during the copy are not carried over. Settled `active_user` lines changed meaning (one line per
-- period and version, dated at the period start, holding the seats first seen under that version;
-- docs/analytics.md): the old hourly ones are left out, a period gets the new ones when re-settled.
CREATE OR REPLACE TABLE {db}.rated_usage
(
    account_id       String,
    period           String COMMENT 'usage period, named by its start month (YYYY-MM)',
    period_start     DateTime('UTC'),
    metric           LowCardinality(String),
    dimension        String,
    hour             DateTime('UTC') COMMENT 'settled: the window (active_user: the period start); provisional: the hour it was rated in',
    kind             LowCardinality(String) COMMENT 'settled | provisional',
    line_id          String COMMENT 'settled: empty; provisional: unique per live delta',
    tier             LowCardinality(String),
    quantity         Decimal(38, 9) COMMENT 'usage this line adds (active_user: seats it adds)',
    period_to_date   Decimal(38, 9),
    included         Decimal(38, 9) COMMENT 'of quantity: within the included quota',
    billable         Decimal(38, 9) COMMENT 'of quantity: billed as overage',
    unit_price       Decimal(38, 9),
    amount           Decimal(38, 9) COMMENT 'USD, full precision',
    catalog_version  String,
    sub_version      UInt64,
    rated_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rated_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (account_id, period_start, metric, dimension, kind, hour, sub_version, line_id)
COMMENT 'rated usage lines, settled and provisional (see docs/analytics.md)'
AS SELECT * FROM {db}.rated_usage FINAL
WHERE NOT (kind = 'settled' AND metric = 'active_user' AND hour != period_start);

-- (2) Seats (docs/rating.md): mirrors rating/seats.py (`seat_users`); tests/integration/
-- test_settlement_exactness.py holds it equal to the invoices' seat lines. Distinct users with any
-- usage event (any metric, heartbeats included) billed to an organization, per organization and
-- usage period (usage billed to a user has the user as its account: not a seat of anything). The period of each settled hour is the account's own
-- anchored period that settlement rated it in: the latest period start of its settled rated lines at
-- or before the hour (every settled hour is rated into its period's lines). For a period spent under
-- a seat-priced tier (enterprise) it equals the invoice's `seats` line. `tier`: the tier of the
-- period's last active hour.
CREATE OR REPLACE VIEW {db}.v_seats AS
SELECT
    u.account_id AS account_id,
    p.period AS period,
    p.period_start AS period_start,
    argMax(u.tier, u.hour) AS tier,
    uniqExact(u.user_id) AS seats
FROM
(
    SELECT account_id, hour, user_id, tier
    FROM {db}.usage_hourly FINAL
    WHERE events > 0 AND account_id != user_id
) AS u
ASOF INNER JOIN
(
    SELECT DISTINCT account_id, period, period_start
    FROM {db}.rated_usage FINAL
    WHERE kind = 'settled'
) AS p ON p.account_id = u.account_id AND u.hour >= p.period_start
GROUP BY account_id, period, period_start;
