"""``BatchSender`` puts a keyed record where aiokafka's own producer would (a compacted topic's key must
stay on one partition whichever producer wrote it)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from streams.kafka.batches import BatchSender


def test_keyed_records_use_the_default_partitioner() -> None:
    sender = BatchSender("127.0.0.1:1")
    default = DefaultPartitioner()
    for n in (1, 4, 7, 12):
        for i in range(300):
            key = f"acct-{i}:api_calls".encode()
            assert sender._for_key(key, n) == default(key, list(range(n)), [])


def test_the_one_partitioner_agrees_with_kafkas_default() -> None:
    # The batch producer, the SDK and the ingest step all route through schemas.partitioning.
    from schemas.partitioning import partition_for, partition_of

    parts = list(range(12))
    for key in ("acct-1", "org-7", "u" * 300):
        kafka = DefaultPartitioner()(key.encode(), parts, parts)
        assert partition_of(key.encode(), 12) == partition_for(key, 12) == kafka
