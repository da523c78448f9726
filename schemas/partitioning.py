"""Kafka's default partitioner, so Meterline routes a key exactly where Kafka clients would.

Batches on ``usage.accepted`` hold only events whose billing account hashes to the partition
they are written to, so per-account state stays on one partition (and one worker).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=200_000)
def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (murmur2, positive, modulo)."""
    h: int = murmur2(key.encode())
    return (h & 0x7FFFFFFF) % partitions
