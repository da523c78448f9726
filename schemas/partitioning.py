"""Kafka's default partitioner, so Meterline routes a key exactly where Kafka clients would.

Batches on ``usage.accepted`` hold only events whose billing account hashes to the partition
they are written to, so per-account state stays on one partition (and one worker).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for the record key ``key`` (murmur2, positive,
    modulo); uncached, for callers that keep their own cache."""
    h: int = murmur2(key)
    return (h & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=200_000)
def partition_for(key: str, partitions: int) -> int:
    """``partition_of`` for a text key (murmur2 is pure Python: the answers are cached)."""
    return partition_of(key.encode(), partitions)
