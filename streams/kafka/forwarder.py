"""Forwards validated events from HTTP ingest to ``usage.events`` as batch envelopes.

Events are grouped by the partition their record key (``org_id`` or ``user_id``) hashes to, one
envelope per partition, so every event of a key lands where a single-event record would have.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from schemas.partitioning import partition_for


def record_key(event: dict[str, Any]) -> str:
    """docs/architecture.md §3: the record key is ``org_id`` if present, else ``user_id``."""
    org = event.get("org_id")
    return str(org) if org else str(event.get("user_id", ""))


class KafkaForwarder:
    """An idempotent (acks=all) producer of envelopes; ``send`` returns after Kafka acknowledged."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._topic = topic
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._partitions: int | None = None

    async def start(self) -> None:
        # aiokafka binds to the running loop: the producer is made here, not in __init__.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_request_size=4 * 1024 * 1024,
            request_timeout_ms=15000,
        )
        await self._producer.start()
        parts = await self._producer.partitions_for(self._topic)
        self._partitions = len(parts)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def send(self, events: list[dict[str, Any]]) -> None:
        if self._producer is None or not self._partitions:
            raise RuntimeError("KafkaForwarder.start() was not called")
        groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for ev in events:
            groups[partition_for(record_key(ev), self._partitions)].append(ev)
        futures = [
            await self._producer.send(
                self._topic,
                value=msgspec.json.encode({"events": group}),
                key=record_key(group[0]).encode(),
                partition=partition,
            )
            for partition, group in groups.items()
        ]
        await asyncio.gather(*futures)
