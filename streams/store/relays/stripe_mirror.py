"""The Stripe mirror's relay: sends the subscription changes the store committed (``stripe_outbox``) to
Stripe, then stores the Stripe ids on the subscription and marks the rows sent.

At least once: a crash after a Stripe call and before the mark sends the change again with the same
idempotency keys, so Stripe applies it once (``sinks.stripe.subscriptions``). The ids Stripe returns are
stored on the subscription row (what the invoice webhooks look up) with versions that carry them (what
metering and invoicing read), through the same outbox as every other version.

Rows of one account are mirrored in the order they were committed: a failed row is retried with backoff
(``next_attempt_at``, attempts and the last error recorded) and holds the account's later rows; other
accounts go on. Run one relay per database, like the Kafka relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from rating.catalog.loader import Catalog
from sinks.stripe.subscriptions import MirrorChange, MirrorResult, StripeSubscriptions, stripe_target
from streams.store import subscription_store as store
from streams.store.models import StripeOutboxRow
from streams.store.relays.loop import drain_rounds, run_relay

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingChange:
    id: int
    account_id: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime | None


class StripeMirrorRelay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        stripe: StripeSubscriptions,
        catalog: Catalog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        notify: Callable[[], None] = lambda: None,
        batch: int = 200,
        backoff: timedelta = timedelta(seconds=2),
        max_backoff: timedelta = timedelta(hours=1),
    ) -> None:
        self._sessions, self._stripe, self._catalog, self._clock = sessions, stripe, catalog, clock
        self.notify = notify  # wakes the Kafka relay when versions carrying new ids were written
        self._batch, self._backoff, self._max_backoff = batch, backoff, max_backoff
        self.wake = asyncio.Event()
        self.last_error: str | None = None

    def _pending(self) -> list[PendingChange]:
        with self._sessions() as s:
            rows = s.execute(
                select(
                    StripeOutboxRow.id,
                    StripeOutboxRow.account_id,
                    StripeOutboxRow.payload,
                    StripeOutboxRow.attempts,
                    StripeOutboxRow.next_attempt_at,
                )
                .where(StripeOutboxRow.sent_at.is_(None))
                .order_by(StripeOutboxRow.id)
                .limit(self._batch)
            ).all()
        return [PendingChange(int(r[0]), str(r[1]), dict(r[2]), int(r[3]), r[4]) for r in rows]

    def pending_count(self) -> int:
        return len(self._pending())

    async def run_once(self) -> int:
        """Mirror the due rows of one batch; returns how many were mirrored. A failure is recorded on its
        row and holds that account's later rows; it is not raised."""
        now = self._clock()
        held: set[str] = set()
        done = 0
        for row in await asyncio.to_thread(self._pending):
            if row.account_id in held:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                held.add(row.account_id)  # backing off: its later rows wait too (per-account order)
                continue
            try:
                await asyncio.to_thread(self._mirror, row, now)
            except Exception as exc:
                held.add(row.account_id)
                self.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                delay = await asyncio.to_thread(self._failed, row, self.last_error, now)
                log.warning(
                    "stripe mirror: change %d of %s failed, retry in %s: %s", row.id, row.account_id, delay, exc
                )
                continue
            done += 1
        if done and not held:
            self.last_error = None
        return done

    def _mirror(self, row: PendingChange, now: datetime) -> MirrorResult | None:
        change = MirrorChange.from_payload(row.payload)
        with self._sessions() as s:
            sub = store.get(s, change.subscription_id)
            if sub is None:  # gone with its organization: nothing left to mirror
                self._mark(row.id, now, "subscription deleted: not mirrored")
                return None
            known = sub.stripe_customer_id or store.account_stripe_customer(s, change.account_id)
            org_id, stripe_sub = sub.organization_id, sub.stripe_subscription_id
        target = stripe_target(change, self._catalog.at(change.at))
        customer, created = self._stripe.ensure_customer(change, known, org_id)
        try:
            result = self._stripe.apply(change, target, customer, stripe_sub, now)
        except Exception:
            if customer != sub.stripe_customer_id:  # kept: the retry must find the customer made now
                self._link(change.subscription_id, customer, None, now)
            raise
        linked = self._link(change.subscription_id, result.customer_id, result.subscription_id, now, sent=row.id)
        log.info(
            "stripe mirror: %s of %s (%s): %s%s",
            change.reason,
            change.account_id,
            change.subscription_id,
            ", ".join(result.calls),
            " (new customer)" if created else "",
        )
        if linked or customer != sub.stripe_customer_id:
            self.notify()
        return result

    def _link(
        self, sub_id: str, customer: str, subscription: str | None, now: datetime, sent: int | None = None
    ) -> bool:
        with self._sessions.begin() as s:
            sub = store.get(s, sub_id, for_update=True)
            changed = sub is not None and store.link_stripe(s, sub, customer, subscription, now)
            if sent is not None:
                s.execute(
                    update(StripeOutboxRow)
                    .where(StripeOutboxRow.id == sent)
                    .values(sent_at=now, attempts=StripeOutboxRow.attempts + 1, last_error=None, next_attempt_at=None)
                )
        return changed

    def _mark(self, row_id: int, now: datetime, note: str | None) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(StripeOutboxRow)
                .where(StripeOutboxRow.id == row_id)
                .values(sent_at=now, attempts=StripeOutboxRow.attempts + 1, last_error=note, next_attempt_at=None)
            )

    def _failed(self, row: PendingChange, error: str, now: datetime) -> timedelta:
        delay = min(self._max_backoff, self._backoff * (1 << min(row.attempts, 20)))
        with self._sessions.begin() as s:
            s.execute(
                update(StripeOutboxRow)
                .where(StripeOutboxRow.id == row.id)
                .values(attempts=StripeOutboxRow.attempts + 1, last_error=error, next_attempt_at=now + delay)
            )
        return delay

    async def drain(self) -> int:
        """Mirror until nothing due is left (rows backing off stay)."""
        return await drain_rounds(self.run_once)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Mirror until ``stop``: at once when woken (after a commit), else every ``interval`` seconds
        (which is also when rows backing off are looked at again)."""

        def failed(exc: Exception) -> None:  # the store itself failed: the rows stay, the next round retries
            self.last_error = str(exc)

        await run_relay("stripe mirror", self.drain, self.wake, stop, interval, on_error=failed)
