"""The outbox relay: publishes the subscription versions the store committed, then marks them sent.

At least once: a crash after the publish and before the mark publishes the same versions again,
which changes nothing (a version is identified by account and number; the records of one batch are
re-sent in the same order, so the last record per account stays the newest). Run one relay per
database: two relays racing could publish an older record after a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, sessionmaker

from rating.subscriptions import SubscriptionVersion
from streams.store.models import OutboxRow
from streams.store.relays.loop import drain_rounds, run_relay
from streams.topics import QUOTA_STATE, SUBSCRIPTIONS

log = logging.getLogger(__name__)

Publish = Callable[[list[SubscriptionVersion]], Awaitable[object]]


def mark(sessions: sessionmaker[Session], ids: list[int], error: str | None, now: datetime) -> None:
    """Count an attempt of the outbox rows ``ids``: sent at ``now`` without ``error``, else left pending."""
    with sessions.begin() as s:
        values: dict[str, object] = {"attempts": OutboxRow.attempts + 1, "last_error": error}
        if error is None:
            values["sent_at"] = now
        s.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(**values))


Pending = list[tuple[int, str, str | None, dict[str, object]]]  # id, topic, key, payload


P = TypeVar("P")  # how a relay's rows are published


class KafkaOutboxRelay(Generic[P]):
    """Publishes the pending outbox rows its ``topics`` filter selects, oldest first, and marks them: sent, or
    the publish's error (left pending for the next round). The subscription versions and the quota-state records
    share the outbox table and this loop; each relay says which rows are its own and how they are published."""

    what = "outbox relay"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publish: P,
        *,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions, self._publish, self._batch, self._clock = sessions, publish, batch, clock
        self.wake = asyncio.Event()
        self.last_error: str | None = None

    def _topics(self) -> ColumnElement[bool]:
        raise NotImplementedError

    #: The topics of the rows it selects that it knows how to publish (None: all); others are marked unsent.
    publishes: frozenset[str] | None = None

    async def _publish_rows(self, rows: Pending) -> None:
        raise NotImplementedError

    def _pending(self) -> Pending:
        with self._sessions() as s:
            rows = s.execute(
                select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.payload)
                .where(OutboxRow.sent_at.is_(None), self._topics())
                .order_by(OutboxRow.id)
                .limit(self._batch)
            ).all()
        return [(int(r[0]), str(r[1]), r[2], dict(r[3])) for r in rows]

    def _mark(self, ids: list[int], error: str | None) -> None:
        mark(self._sessions, ids, error, self._clock())

    def pending_count(self) -> int:
        return len(self._pending())

    async def run_once(self) -> int:
        """Publish one batch of pending rows; returns how many were sent (raises if the publish failed)."""
        rows = await asyncio.to_thread(self._pending)
        if not rows:
            return 0
        if self.publishes is not None:
            unknown = [r[0] for r in rows if r[1] not in self.publishes]
            if unknown:
                await asyncio.to_thread(self._mark, unknown, "unknown topic: left unsent")
            rows = [r for r in rows if r[1] in self.publishes]
        ids = [r[0] for r in rows]
        try:
            await self._publish_rows(rows)
        except Exception as exc:
            self.last_error = str(exc)
            await asyncio.to_thread(self._mark, ids, f"{type(exc).__name__}: {exc}"[:2000])
            raise
        await asyncio.to_thread(self._mark, ids, None)
        self.last_error = None
        return len(ids)

    async def drain(self) -> int:
        """Publish until nothing is pending."""
        return await drain_rounds(self.run_once)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Relay until ``stop``: at once when woken (after a commit), else every ``interval`` seconds;
        a failed publish is retried with backoff (up to 30 s)."""
        await run_relay(f"{self.what}: publish failed", self.drain, self.wake, stop, interval, max_backoff=30.0)


class OutboxRelay(KafkaOutboxRelay[Publish]):
    """The subscription versions (``billing.subscriptions``)."""

    def _topics(self) -> ColumnElement[bool]:
        return OutboxRow.topic != QUOTA_STATE  # relays/quota_records.py's

    publishes = frozenset({SUBSCRIPTIONS})

    async def _publish_rows(self, rows: Pending) -> None:
        await self._publish([SubscriptionVersion.model_validate(p) for _, _, _, p in rows])
