"""The notification relays: send the emails of ``notice_outbox`` and the deliveries of ``webhook_deliveries``,
then mark them, on the shared relay loop (``streams.store.relays.loop``; docs/notifications.md).

At least once, never twice on purpose: a row is marked after its send; a crash between the two sends it
again with the same identity (the email's Message-ID, the webhook's ``webhook-id``) so the receiver can
drop the repeat, and a row recorded as sent or acknowledged is never sent again. A failed row waits with
exponential backoff; a webhook delivery is given up 24 h after its event. Run one relay per database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from streams.notify import email, pinned_http, signing, targets
from streams.store import branding
from streams.store.models import NoticeRow, WebhookDeliveryRow, WebhookEndpointRow
from streams.store.relays.loop import drain_rounds, run_relay

log = logging.getLogger(__name__)

Attachments = Callable[[Session, NoticeRow], list[email.Attachment]]
GIVE_UP_AFTER = timedelta(hours=24)


def email_brand(brand: branding.Brand) -> email.EmailBrand | None:
    """A white-label organization's emails carry its name, colour, logo, sender name and reply-to."""
    if not brand.custom:
        return None
    return email.EmailBrand(
        brand.name, brand.primary_colour, brand.sender_name, brand.reply_to, brand.logo, brand.logo_type
    )


def backoff(attempts: int, first: timedelta, most: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failure: ``first`` doubled each time, at most ``most``."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(first * factor, most)


class EmailRelay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        smtp: email.SmtpSettings,
        *,
        attachments: Attachments = lambda s, row: [],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 100,
        first_backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=1),
    ) -> None:
        self._sessions, self._smtp, self._attachments, self._clock = sessions, smtp, attachments, clock
        self._batch, self._first, self._most = batch, first_backoff, max_backoff
        self.wake = asyncio.Event()

    def _due(self, now: datetime) -> list[int]:
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(NoticeRow.id)
                    .where(NoticeRow.sent_at.is_(None))
                    .where(or_(NoticeRow.next_attempt_at.is_(None), NoticeRow.next_attempt_at <= now))
                    .order_by(NoticeRow.id)
                    .limit(self._batch)
                )
            )

    def _send_one(self, row_id: int, now: datetime) -> bool:
        with self._sessions() as s:
            row = s.get(NoticeRow, row_id)
            if row is None or row.sent_at is not None:
                return False
            if not row.recipient:
                self._finish(row_id, now, None, "no recipient: not sent")
                return False
            key = row.key
            try:  # an attachment not ready yet (the invoice still on its way to the warehouse) is retried
                notice = email.Notice(
                    row.key,
                    row.kind,
                    row.account_id,
                    row.recipient,
                    dict(row.context),
                    self._attachments(s, row),
                    email_brand(branding.brand_of(s, row.account_id, now)),
                )
            except Exception as exc:
                notice = None
                failure: Exception | None = exc
        try:
            if notice is None:
                assert failure is not None
                raise failure
            email.send(email.build(notice, self._smtp, now), self._smtp)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            with self._sessions.begin() as s:
                row = s.get(NoticeRow, row_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = error
                    row.next_attempt_at = now + backoff(row.attempts, self._first, self._most)
            log.warning("email relay: notice %s failed: %s", key, error)
            return False
        self._finish(row_id, now, now, None)
        return True

    def _finish(self, row_id: int, now: datetime, sent: datetime | None, note: str | None) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(NoticeRow)
                .where(NoticeRow.id == row_id)
                .values(sent_at=now, attempts=NoticeRow.attempts + 1, last_error=note, next_attempt_at=None)
            )

    async def run_once(self) -> int:
        """Send the due notices of one batch; returns how many were sent (failures are recorded, not raised)."""
        now = self._clock()
        sent = 0
        for row_id in await asyncio.to_thread(self._due, now):
            sent += await asyncio.to_thread(self._send_one, row_id, now)
        return sent

    async def drain(self) -> int:
        return await drain_rounds(self.run_once)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        await run_relay("email relay", self.drain, self.wake, stop, interval)


class WebhookRelay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 100,
        timeout: float = 10.0,
        first_backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=2),
        give_up_after: timedelta = GIVE_UP_AFTER,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        allow_private: bool = False,
    ) -> None:
        # ``clock`` schedules retries (passed in by tests); ``wall`` stamps ``webhook-timestamp``, which
        # receivers compare with their own clock to refuse replays, so it stays the real time
        self._wall = wall
        self._allow_private = allow_private  # METERLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS (streams/notify/targets.py)
        self._sessions, self._clock, self._batch, self._timeout = sessions, clock, batch, timeout
        self._first, self._most, self._give_up = first_backoff, max_backoff, give_up_after
        self.wake = asyncio.Event()

    def _due(self, now: datetime) -> list[int]:
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(WebhookDeliveryRow.id)
                    .where(WebhookDeliveryRow.done_at.is_(None))
                    .where(or_(WebhookDeliveryRow.next_attempt_at.is_(None), WebhookDeliveryRow.next_attempt_at <= now))
                    .order_by(WebhookDeliveryRow.id)
                    .limit(self._batch)
                )
            )

    def _deliver(self, row_id: int, now: datetime) -> bool:
        with self._sessions() as s:
            row = s.get(WebhookDeliveryRow, row_id)
            if row is None or row.done_at is not None:  # acknowledged already: never sent again
                return False
            ep = s.get(WebhookEndpointRow, row.endpoint_id)
            if ep is None:
                return False
            url, secret, event_id, created = ep.url, ep.secret, row.event_id, row.created_at
            body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True).encode()
        status, error = self._send(url, secret, event_id, body)
        ok = status is not None and 200 <= status < 300
        with self._sessions.begin() as s:
            row = s.get(WebhookDeliveryRow, row_id)
            if row is None:
                return False
            row.attempts += 1
            row.last_status, row.last_error = status, error
            if ok:
                row.done_at, row.outcome, row.next_attempt_at = now, "delivered", None
            else:
                retry_at = now + backoff(row.attempts, self._first, self._most)
                if retry_at - created > self._give_up:
                    row.done_at, row.outcome, row.next_attempt_at = now, "failed", None
                else:
                    row.next_attempt_at = retry_at
        if not ok:
            log.warning("webhook relay: %s to %s failed: %s", event_id, url, error)
        return ok

    def _send(self, url: str, secret: str, event_id: str, body: bytes) -> tuple[int | None, str | None]:
        """The receiver's status (None: no answer) and what went wrong; nothing is sent to a non-public address
        unless allowed, and the connection goes to an address so checked (streams/notify/targets.py)."""
        try:
            addresses = targets.delivery_addresses(url, allow_private=self._allow_private)
        except targets.Refused as exc:
            return None, f"not sent: {exc}"
        headers = signing.headers(secret, event_id, int(self._wall().timestamp()), body)
        try:
            status = pinned_http.post(url, addresses, headers, body, timeout=self._timeout)
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"[:2000]
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    async def run_once(self) -> int:
        """Deliver the due rows of one batch; returns how many were acknowledged."""
        now = self._clock()
        done = 0
        for row_id in await asyncio.to_thread(self._due, now):
            done += await asyncio.to_thread(self._deliver, row_id, now)
        return done

    async def drain(self) -> int:
        return await drain_rounds(self.run_once)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        await run_relay("webhook relay", self.drain, self.wake, stop, interval)
