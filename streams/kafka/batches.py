"""Many small Kafka records sent as a few batches: the live stage's quota states, alerts and changelog.

Faust's ``send``/``send_soon`` and a Table write pay a per-record cost of tens to hundreds of µs
(docs/architecture.md §9); one rated batch produces thousands of small keyed records, so they go through a plain
aiokafka producer, filled per partition with ``create_batch`` and sent with ``send_batch``.
Keyed records land where aiokafka's default partitioner puts them (murmur2, as the Java client),
so a compacted topic's key always stays on one partition whoever wrote it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.partitioning import partition_of

#: Keys whose partition is remembered (murmur2 is pure Python: ~5 µs a key); beyond it starts over.
MAX_CACHED_KEYS = 1_000_000

#: (partition, key, value); partition None: by key, or round robin for a record without one.
Record = tuple[int | None, bytes | None, bytes]


class BatchSender:
    def __init__(self, bootstrap: str, *, client_id: str = "meterline-batches") -> None:
        self._bootstrap, self._client_id = bootstrap, client_id
        self._producer_or_none: AIOKafkaProducer | None = None
        self._partitions: dict[str, int] = {}
        self._key_partition: dict[tuple[int, bytes], int] = {}
        self._next = 0

    @property
    def _producer(self) -> AIOKafkaProducer:
        if self._producer_or_none is None:
            raise RuntimeError("BatchSender used before start()")
        return self._producer_or_none

    async def start(self) -> None:
        # Made here, not in __init__: aiokafka binds the running event loop.
        self._producer_or_none = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            linger_ms=0,  # records are already batched by the caller
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
        )
        await self._producer_or_none.start()

    async def stop(self) -> None:
        if self._producer_or_none is not None:
            await self._producer_or_none.stop()
            self._producer_or_none = None

    async def _partition_count(self, topic: str) -> int:
        n = self._partitions.get(topic)
        if n is None:
            parts = await self._producer.partitions_for(topic)
            if not parts:
                raise RuntimeError(f"topic {topic} has no partitions")
            n = self._partitions[topic] = len(parts)
        return n

    def _for_key(self, key: bytes, n: int) -> int:
        cache_key = (n, key)
        p = self._key_partition.get(cache_key)
        if p is None:
            if len(self._key_partition) > MAX_CACHED_KEYS:
                self._key_partition.clear()
            p = self._key_partition[cache_key] = partition_of(key, n)
        return p

    async def send(self, topic: str, records: Iterable[Record]) -> list[asyncio.Future[Any]]:
        """Queue ``records``; returns the futures of their batches (await them for delivery)."""
        n = await self._partition_count(topic)
        by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for partition, key, value in records:
            if partition is None:
                if key is None:
                    self._next += 1
                    partition = self._next % n
                else:
                    partition = self._for_key(key, n)
            by_partition.setdefault(partition, []).append((key, value))
        futures: list[asyncio.Future[Any]] = []
        for partition, items in by_partition.items():
            batch = self._producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    batch.close()
                    futures.append(await self._producer.send_batch(batch, topic, partition=partition))
                    batch = self._producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        raise ValueError(f"a record of {len(value)} bytes does not fit a batch")
            if batch.record_count():
                batch.close()
                futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        return futures
