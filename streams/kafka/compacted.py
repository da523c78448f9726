"""Read a (compacted) topic from the beginning to its current end, once: for CLI look-ups."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.errors import MeterlineError
from streams.kafka.internals import force_metadata_update


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str, wait: float = 10.0) -> set[int]:
    """The topic's partitions; a topic created a moment ago may take a few metadata rounds to appear."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        await force_metadata_update(consumer)
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        if loop.time() > deadline:
            raise MeterlineError(f"topic {topic} does not exist (start a worker, or run `meterline stack up`)")
        await asyncio.sleep(0.2)


async def read_to_end(bootstrap: str, topic: str, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        parts = await topic_partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[ConsumerRecord[bytes, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
            if loop.time() > deadline:
                raise MeterlineError(f"timed out reading {topic}")
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
