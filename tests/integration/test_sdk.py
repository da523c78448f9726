"""The producer SDK against the real broker: envelopes, partitioning, validation at the caller, flush."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer

from schemas.decode import decode_record
from schemas.errors import InvalidEvent
from schemas.sdk import AsyncUsageClient, UsageClient, _partition
from streams.kafka_admin import ensure_topics
from streams.settings import Settings
from streams.topics import EVENTS

pytestmark = pytest.mark.integration


async def _consume_all(settings: Settings, topic: str, expected_events: int) -> list[tuple[int, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[tuple[int, bytes]] = []
    try:
        n = 0
        while n < expected_events:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {n} of {expected_events} events arrived"
            for tp, recs in batch.items():
                for r in recs:
                    out.append((tp.partition, r.value))
                    n += len(msgspec.json.decode(r.value)["events"])
    finally:
        await consumer.stop()
    return out


@pytest.fixture(scope="module")
async def topics(stack_settings: Settings) -> Settings:
    s = stack_settings.model_copy(update={"topic_prefix": stack_settings.topic_prefix + "sdk."})
    await ensure_topics(s)
    return s


async def test_async_client_batches_per_partition(topics: Settings) -> None:
    s = topics
    async with AsyncUsageClient(s.kafka_bootstrap, source="chat", topic=s.topic(EVENTS), batch_size=50) as usage:
        ids = [
            await usage.record("api_calls", 1, user_id=f"u{i % 13}", org_id=None if i % 3 else f"org-{i % 4}")
            for i in range(400)
        ]
    assert len(set(ids)) == 400  # an event_id was assigned to each
    records = await _consume_all(s, s.topic(EVENTS), 400)
    assert len(records) < 400  # batched: far fewer records than events
    now = datetime.now(UTC)
    seen: list[str] = []
    for partition, value in records:
        result = decode_record(value, now=now)
        assert not result.rejections
        for ev in result.accepted:
            # Every event sits on the partition its record key hashes to.
            assert _partition(ev.account_id, s.topic_partitions) == partition
            assert ev.source == "chat"
            seen.append(ev.event_id)
    assert sorted(seen) == sorted(ids)


async def test_invalid_event_raises_at_the_caller(topics: Settings) -> None:
    async with AsyncUsageClient(topics.kafka_bootstrap, source="chat", topic=topics.topic(EVENTS)) as usage:
        with pytest.raises(InvalidEvent, match="metric"):
            await usage.record("tokens", 1, user_id="u1")
        with pytest.raises(InvalidEvent, match="quantity"):
            await usage.record("api_calls", -1, user_id="u1")
        with pytest.raises(InvalidEvent, match="float"):
            await usage.record("api_calls", 0.1, user_id="u1")  # type: ignore[arg-type]
        with pytest.raises(InvalidEvent, match="timestamp"):
            await usage.record("api_calls", 1, user_id="u1", timestamp=datetime(2026, 1, 1))  # naive
        assert usage.pending == 0


def test_sync_client_flushes_on_close(stack_settings: Settings) -> None:
    s = stack_settings.model_copy(update={"topic_prefix": stack_settings.topic_prefix + "sync."})
    import asyncio

    asyncio.run(ensure_topics(s))
    with UsageClient(s.kafka_bootstrap, source="drive", topic=s.topic(EVENTS), linger=30.0) as usage:
        # linger of 30 s: only close() can have sent these.
        ids = [usage.record("storage_gb", "12.5", user_id="u-9", event_id=f"sync-{i}") for i in range(25)]
    assert ids == [f"sync-{i}" for i in range(25)]
    records = asyncio.run(_consume_all(s, s.topic(EVENTS), 25))
    events = [e for _, v in records for e in msgspec.json.decode(v)["events"]]
    assert [e["event_id"] for e in events] == ids
    assert {e["quantity"] for e in events} == {"12.5"}
