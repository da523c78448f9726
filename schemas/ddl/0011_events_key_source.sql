-- The dedupe key of events becomes (source, event_id) (docs/events.md): one sender's ids never
-- suppress another's. ClickHouse cannot add an existing column to a sorting key, so a store whose
-- `events` predates this is rebuilt: a new table with `source` in its key, every row copied, the two
-- names swapped, the old rows dropped. Each step runs only while `events` still has the old key (a
-- `-- only if:` guard, see sinks/migrations.py), so a migration stopped at any point completes when
-- run again; a repeated copy only adds identical rows, which the engine collapses and every reader
-- deduplicates. Run it while no worker writes events (`meterline db migrate` runs before they start).
-- Stores created with this 0001 already have the new key: every step is skipped.
-- only if: SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'events' AND position(sorting_key, 'source') = 0
CREATE TABLE IF NOT EXISTS {db}.events_0011
(
    event_id      String,
    account_id    String COMMENT 'routing account: org_id when set, else user_id',
    user_id       String,
    org_id        Nullable(String),
    metric        LowCardinality(String),
    quantity      Decimal(38, 9),
    ts_ms         Int64 COMMENT 'event time, epoch milliseconds (as carried on usage.accepted)',
    timestamp     DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(ts_ms, 'UTC') COMMENT 'event time, UTC',
    properties    Map(String, String),
    source        LowCardinality(String),
    stored_at     DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row reached ClickHouse',
    provider      LowCardinality(String) MATERIALIZED properties['provider'],
    model         LowCardinality(String) MATERIALIZED properties['model'],
    feature       LowCardinality(String) MATERIALIZED properties['feature'],
    input_tokens  UInt64 MATERIALIZED toUInt64OrZero(properties['input_tokens']),
    output_tokens UInt64 MATERIALIZED toUInt64OrZero(properties['output_tokens'])
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (account_id, metric, toStartOfHour(timestamp), source, event_id)
COMMENT 'accepted usage events, deduplicated by (source, event_id) (see docs/analytics.md)';

-- only if: SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'events' AND position(sorting_key, 'source') = 0
INSERT INTO {db}.events_0011
    (event_id, account_id, user_id, org_id, metric, quantity, ts_ms, timestamp, properties, source, stored_at)
SELECT event_id, account_id, user_id, org_id, metric, quantity, ts_ms, timestamp, properties, source, stored_at
FROM {db}.events;

-- only if: SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'events' AND position(sorting_key, 'source') = 0
EXCHANGE TABLES {db}.events AND {db}.events_0011;

-- After the swap `events_0011` holds the old rows (all copied): dropped only once `events` has the new key.
-- only if: SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'events' AND position(sorting_key, 'source') > 0
DROP TABLE IF EXISTS {db}.events_0011;

-- Two migrations racing on one server could undo each other's swap: fail unless `events` has the new key,
-- so the version is not recorded and the next run completes the rebuild.
SELECT throwIf(count() > 0, 'events still has its old sorting key: run meterline db migrate again')
FROM system.tables WHERE database = '{db}' AND name = 'events' AND position(sorting_key, 'source') = 0;
