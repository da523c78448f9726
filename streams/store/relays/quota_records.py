"""The AI controls and cap records of ``billing.quota-state`` (schemas/ai_rules.py): the API writes them to the
outbox in the transaction of the change (a PUT of the controls, the cap watcher's round) and this relay publishes
them, in ``id`` order, so the latest record per key is the newest state. At least once: a record sent twice
changes nothing (compacted, the latest per key wins)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.store.models import OutboxRow
from streams.store.relays.loop import drain_rounds, run_relay
from streams.store.relays.outbox import mark
from streams.topics import QUOTA_STATE

PublishRecords = Callable[[list[tuple[bytes, bytes]]], Awaitable[object]]


def enqueue(s: Session, key: bytes, record: dict[str, object], now: datetime) -> None:
    """Publish ``record`` under ``key`` once the caller's transaction commits."""
    s.add(OutboxRow(topic=QUOTA_STATE, key=key.decode(), payload=record, created_at=now, attempts=0))


def kafka_publisher(settings: Settings) -> PublishRecords:
    async def publish(records: list[tuple[bytes, bytes]]) -> None:
        await ensure_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(settings.topic(QUOTA_STATE), value, key=key)
        finally:
            await producer.stop()

    return publish


class QuotaRecordRelay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        publish: PublishRecords,
        *,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions, self._publish, self._batch, self._clock = sessions, publish, batch, clock
        self.wake = asyncio.Event()

    def _pending(self) -> list[tuple[int, str, dict[str, object]]]:
        with self._sessions() as s:
            rows = s.execute(
                select(OutboxRow.id, OutboxRow.key, OutboxRow.payload)
                .where(OutboxRow.sent_at.is_(None), OutboxRow.topic == QUOTA_STATE)
                .order_by(OutboxRow.id)
                .limit(self._batch)
            ).all()
        return [(int(r[0]), str(r[1]), dict(r[2])) for r in rows]

    def _mark(self, ids: list[int], error: str | None) -> None:
        mark(self._sessions, ids, error, self._clock())

    async def run_once(self) -> int:
        rows = await asyncio.to_thread(self._pending)
        if not rows:
            return 0
        ids = [i for i, _, _ in rows]
        try:
            await self._publish([(k.encode(), orjson.dumps(p)) for _, k, p in rows])
        except Exception as exc:
            await asyncio.to_thread(self._mark, ids, f"{type(exc).__name__}: {exc}"[:2000])
            raise
        await asyncio.to_thread(self._mark, ids, None)
        return len(ids)

    async def drain(self) -> int:
        return await drain_rounds(self.run_once)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        await run_relay("quota-state relay: publish failed", self.drain, self.wake, stop, interval, max_backoff=30.0)
