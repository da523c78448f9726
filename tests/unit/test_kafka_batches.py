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
