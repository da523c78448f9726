-- Every record the ingest stage refused, with the reason; the same content as usage.events.dlq.
-- One row per rejection (a replay of the same Kafka offset collapses on the sorting key).
CREATE TABLE IF NOT EXISTS {db}.rejected_events
(
    rejected_at      DateTime64(3, 'UTC'),
    reason           LowCardinality(String),
    detail           String,
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    batch_index      UInt32 COMMENT 'position of the event inside a batch record (0 for a single event)',
    event_id         String COMMENT 'empty when the event had none or was unreadable',
    raw              String COMMENT 'the original bytes of the event (or of the whole record when unreadable)'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (source_topic, source_partition, source_offset, batch_index)
COMMENT 'rejected usage events with their reason codes (docs/events.md)';
