"""The SDK's buffering without a broker: batch by size, group by partition, back-pressure, flush."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from schemas.errors import BufferFull, ClientClosed, InvalidEvent
from schemas.partitioning import partition_for
from schemas.sdk import AsyncUsageClient, UsageClient

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeProducer:
    """Stands in for AIOKafkaProducer: records sends; ``gate`` holds acknowledgements back."""

    def __init__(self, partitions: int = 4) -> None:
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.n = partitions

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.n))

    async def send(self, topic: str, value: bytes, *, key: bytes, partition: int) -> Any:
        async def ack() -> None:
            await self.gate.wait()
            self.sent.append((topic, value, key, partition))

        return asyncio.ensure_future(ack())


def client(**kw: Any) -> tuple[AsyncUsageClient, FakeProducer]:
    c = AsyncUsageClient("unused:9092", source="svc", topic="t", clock=lambda: NOW, **kw)
    fake = FakeProducer()
    c._producer = fake
    return c, fake


async def test_envelopes_hold_one_partition_and_full_batches_ship_at_once() -> None:
    c, fake = client(batch_size=5, linger=60.0)
    await c.start()
    ids = [await c.record("api_calls", 1, user_id=f"u{i}") for i in range(40)]
    await c.flush()
    events = 0
    for _, value, key, partition in fake.sent:
        evs = msgspec.json.decode(value)["events"]
        assert 1 <= len(evs) <= 5
        assert key == evs[0]["user_id"].encode()
        assert {partition_for(e["user_id"], 4) for e in evs} == {partition}
        assert all(e["timestamp"] == int(NOW.timestamp() * 1000) and e["source"] == "svc" for e in evs)
        events += len(evs)
    assert events == 40 and len(set(ids)) == 40
    await c.record("api_calls", 1, user_id="u", source="other", event_id="own-id")
    await c.flush()
    [ev] = msgspec.json.decode(fake.sent[-1][1])["events"]
    assert (ev["source"], ev["event_id"]) == ("other", "own-id")
    await c.close()
    with pytest.raises(ClientClosed):
        await c.record("api_calls", 1, user_id="u")


async def test_record_waits_when_the_buffer_is_full() -> None:
    c, fake = client(batch_size=2, max_pending=4, linger=0.01)
    await c.start()
    fake.gate.clear()  # Kafka stops acknowledging
    for i in range(4):
        await c.record("api_calls", 1, user_id=f"u{i}")
    blocked = asyncio.create_task(c.record("api_calls", 1, user_id="u-late"))
    await asyncio.sleep(0.1)
    assert not blocked.done() and c.pending == 4
    fake.gate.set()
    await asyncio.wait_for(blocked, 2)
    await c.close()
    assert sum(len(msgspec.json.decode(v)["events"]) for _, v, _, _ in fake.sent) == 5


def test_sync_client_blocks_then_raises_buffer_full(monkeypatch: pytest.MonkeyPatch) -> None:
    holder: dict[str, FakeProducer] = {}

    def fake_producer(**_: Any) -> FakeProducer:
        holder["p"] = FakeProducer()
        holder["p"].gate.clear()  # never acknowledges
        return holder["p"]

    monkeypatch.setattr("schemas.sdk.AIOKafkaProducer", fake_producer)
    usage = UsageClient("unused:9092", source="svc", block_timeout=0.3, batch_size=1, max_pending=2)
    with pytest.raises(InvalidEvent):
        usage.record("nope", 1, user_id="u")
    usage.record("api_calls", 1, user_id="u1")
    usage.record("api_calls", 1, user_id="u2")
    with pytest.raises(BufferFull):
        usage.record("api_calls", 1, user_id="u3")
    usage._loop.call_soon_threadsafe(holder["p"].gate.set)
    usage.close()
    assert len(holder["p"].sent) == 2
