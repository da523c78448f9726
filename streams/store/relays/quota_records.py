"""The AI controls and cap records of ``billing.quota-state`` (schemas/ai_rules.py): the API writes them to the
outbox in the transaction of the change (a PUT of the controls, the cap watcher's round) and this relay publishes
them, in ``id`` order, so the latest record per key is the newest state. At least once: a record sent twice
changes nothing (compacted, the latest per key wins)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.store.models import OutboxRow
from streams.store.relays.outbox import KafkaOutboxRelay, Pending
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


class QuotaRecordRelay(KafkaOutboxRelay[PublishRecords]):
    """The AI controls and cap records (``billing.quota-state``), as they are."""

    what = "quota-state relay"

    def _topics(self) -> ColumnElement[bool]:
        return OutboxRow.topic == QUOTA_STATE

    async def _publish_rows(self, rows: Pending) -> None:
        await self._publish([((k or "").encode(), orjson.dumps(p)) for _, _, k, p in rows])
