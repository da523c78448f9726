"""The producer SDK against the real broker: envelopes, partitioning, validation at the caller, flush.

Each test gets a fresh, uniquely named topic (created and deleted here) on the broker named by
``METERLINE_KAFKA_BOOTSTRAP``; the lead may switch this to the shared ``stack`` fixture.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.decode import decode_record
from schemas.errors import InvalidEvent
from schemas.partitioning import partition_for
from schemas.sdk import AsyncUsageClient, UsageClient
from streams.settings import load_settings

pytestmark = pytest.mark.integration

PARTITIONS = 6


@dataclass(frozen=True)
class Topic:
    bootstrap: str
    name: str


@pytest.fixture
async def topic() -> AsyncIterator[Topic]:
    bootstrap = load_settings().kafka_bootstrap
    name = f"sdk-test-{uuid.uuid4().hex[:10]}.usage.events"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        yield Topic(bootstrap, name)
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def _consume_all(topic: Topic, expected_events: int) -> list[tuple[int, bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        topic.name, bootstrap_servers=topic.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[tuple[int, bytes | None, bytes]] = []
    try:
        n = 0
        while n < expected_events:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {n} of {expected_events} events arrived"
            for tp, recs in batch.items():
                for r in recs:
                    out.append((tp.partition, r.key, r.value))
                    n += len(msgspec.json.decode(r.value)["events"])
        assert not await consumer.getmany(timeout_ms=500), "more records than events sent"
    finally:
        await consumer.stop()
    return out


def _check_envelopes(records: list[tuple[int, bytes | None, bytes]]) -> list[str]:
    """Every record is a valid batch envelope whose events all hash to the record's partition."""
    now = datetime.now(UTC)
    seen: list[str] = []
    for partition, key, value in records:
        assert set(msgspec.json.decode(value)) == {"events"}
        result = decode_record(value, now=now, max_lateness=timedelta(days=1))
        assert not result.rejections, result.rejections
        assert key == result.accepted[0].account_id.encode()  # key = the first event's billing account
        for ev in result.accepted:
            assert partition_for(ev.account_id, PARTITIONS) == partition
            seen.append(ev.event_id)
    return seen


async def test_async_client_batches_perpartition_for(topic: Topic) -> None:
    async with AsyncUsageClient(topic.bootstrap, source="chat", topic=topic.name, batch_size=50) as usage:
        ids = [
            await usage.record("api_calls", 1, user_id=f"u{i % 13}", org_id=None if i % 3 else f"org-{i % 4}")
            for i in range(400)
        ]
    assert len(set(ids)) == 400  # an event_id was assigned to each
    assert all(uuid.UUID(i).version == 4 for i in ids)
    records = await _consume_all(topic, 400)
    assert len(records) < 400 / 10  # batched: far fewer records than events
    assert len({p for p, _, _ in records}) > 1  # and spread over partitions
    assert sorted(_check_envelopes(records)) == sorted(ids)


async def test_invalid_event_raises_at_the_caller(topic: Topic) -> None:
    async with AsyncUsageClient(topic.bootstrap, source="chat", topic=topic.name) as usage:
        with pytest.raises(InvalidEvent, match="metric"):
            await usage.record("tokens", 1, user_id="u1")
        with pytest.raises(InvalidEvent, match="quantity"):
            await usage.record("api_calls", -1, user_id="u1")
        with pytest.raises(InvalidEvent, match="float"):
            await usage.record("api_calls", 0.1, user_id="u1")  # type: ignore[arg-type]
        with pytest.raises(InvalidEvent, match="timestamp"):
            await usage.record("api_calls", 1, user_id="u1", timestamp=datetime(2026, 1, 1))  # naive
        with pytest.raises(InvalidEvent, match="properties"):
            await usage.record("api_calls", 1, user_id="u1", properties={"nested": {"a": 1}})
        assert usage.pending == 0
        eid = await usage.record("premium_feature", 1, user_id="u1", properties={"feature": "deep_research"})
    [(_, _, value)] = await _consume_all(topic, 1)
    assert [e["event_id"] for e in msgspec.json.decode(value)["events"]] == [eid]


async def test_sync_client_flushes_on_close(topic: Topic) -> None:
    def produce() -> list[str]:
        with UsageClient(topic.bootstrap, source="drive", topic=topic.name, linger=30.0) as usage:
            # linger of 30 s: only close() can have sent these.
            ids = [usage.record("storage_gb", "12.5", user_id="drive-user", event_id=f"sync-{i}") for i in range(25)]
            ids += [usage.record("active_user", 1, user_id=f"u-{i}", org_id=f"org-{i % 5}") for i in range(40)]
        return ids

    ids = await asyncio.to_thread(produce)
    assert ids[:25] == [f"sync-{i}" for i in range(25)]
    records = await _consume_all(topic, 65)
    assert sorted(_check_envelopes(records)) == sorted(ids)
    events = [e for _, _, v in records for e in msgspec.json.decode(v)["events"]]
    # One account's events keep their order (one partition, one envelope).
    assert [e["event_id"] for e in events if e["user_id"] == "drive-user"] == ids[:25]
    assert {e["quantity"] for e in events if e["metric"] == "storage_gb"} == {"12.5"}
