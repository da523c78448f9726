"""Reading a (compacted) topic from the beginning: to its current end once (CLI look-ups), or
following it on (the subscription registry, the quota-state view)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.errors import MeterlineError
from streams.kafka.internals import force_metadata_update

log = logging.getLogger(__name__)

#: A reader not at the end it saw at start after this long (and as often again) says how far it got.
SLOW_CATCH_UP_SECONDS = 30.0


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


async def follow_from_start(
    bootstrap: str,
    topic: str,
    apply: Callable[[ConsumerRecord[bytes, bytes]], None],
    *,
    stop: asyncio.Event,
    caught_up: asyncio.Event,
    poll_ms: int = 500,
) -> None:
    """Read ``topic`` from the beginning (no consumer group: every reader needs every key), calling
    ``apply`` on each record, until ``stop`` is set; ``caught_up`` is set once the records present at
    the start have been applied. A reader that wants only those passes the same event for both."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await topic_partitions(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        warn_at = loop.time() + SLOW_CATCH_UP_SECONDS
        while True:
            if not caught_up.is_set():
                positions = [await _position(consumer, tp) for tp in tps]
                if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                    caught_up.set()
                elif loop.time() > warn_at:
                    # Whatever waits on ``caught_up`` (live rating waits on the subscriptions) waits on this.
                    warn_at = loop.time() + SLOW_CATCH_UP_SECONDS
                    log.warning(
                        "%s: not yet read to its end: at %s of %s",
                        topic,
                        dict(zip((tp.partition for tp in tps), positions, strict=True)),
                        {tp.partition: end[tp] for tp in tps},
                    )
            if stop.is_set():
                return
            batch = await consumer.getmany(*tps, timeout_ms=poll_ms)
            for records in batch.values():
                for r in records:
                    apply(r)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    pos: int = await consumer.position(tp)
    return pos


async def read_to_end(bootstrap: str, topic: str, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record the topic holds now, from the beginning: for CLI look-ups."""
    out: list[ConsumerRecord[bytes, bytes]] = []
    done = asyncio.Event()
    try:
        await asyncio.wait_for(follow_from_start(bootstrap, topic, out.append, stop=done, caught_up=done), timeout)
    except TimeoutError as exc:
        raise MeterlineError(f"timed out reading {topic}") from exc
    return out
