"""The collection loop (docs/notifications.md, "Dunning"): retries failed charges on the schedule of
``rating.dunning``, tells the account at each step, reminds net-terms invoices around their due date, puts
accounts too long overdue ``past_due`` and makes them ``active`` again once nothing is owed.

Each action is keyed (the notice's key) and done in one transaction with its notice, so a crash or a second
API process repeats nothing; a step missed while the loop was down is not replayed, only the latest one due
is taken (one notice, not a backlog). Run in the billing API's lifespan beside the outbox relays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating import lifecycle
from rating import receivables as rc
from rating.catalog.loader import Catalog
from rating.dunning import DunningSchedule
from rating.periods import contract_year_containing
from sinks.errors import SinkUnavailable
from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.notify.stripe_events import amount_text
from streams.store import receivables, refunds
from streams.store import subscription_store as store
from streams.store.audit import Origin
from streams.store.models import InvoiceReceivableRow, NoticeRow, Organization, Subscription
from streams.store.refunds import Refunder
from streams.store.relays.loop import run_relay

log = logging.getLogger(__name__)

#: Charges an open invoice again: None when paid, else the failure reason; raises when it cannot tell (the step
#: is then tried again on the next round). The second argument makes the attempt idempotent.
Charger = Callable[[str, str], str | None]
RECORDED_BY = "dunning"
#: How far back the intake looks for finalized invoices (older ones open when first read or paid).
INTAKE_WINDOW = timedelta(days=35)


@dataclass(frozen=True, slots=True)
class Round:
    """What one round did (for logs and tests)."""

    opened: int = 0
    steps: int = 0
    reminders: int = 0
    past_due: int = 0
    recovered: int = 0
    renewals: int = 0
    refunds: int = 0  # credit notes' Stripe refunds paid out (a failed attempt counts none)

    @property
    def total(self) -> int:
        return self.opened + self.steps + self.reminders + self.past_due + self.recovered + self.renewals + self.refunds


def _noticed(s: Session, key: str) -> bool:
    return s.scalar(select(NoticeRow.id).where(NoticeRow.key == key)) is not None


def _owed_now(s: Session, account_id: str, today: datetime) -> list[InvoiceReceivableRow]:
    """The account's open invoices that are due (charged ones are due on finalization)."""
    q = select(InvoiceReceivableRow).where(
        InvoiceReceivableRow.account_id == account_id,
        InvoiceReceivableRow.status == "open",
        InvoiceReceivableRow.due_date <= today.date(),
    )
    return list(s.scalars(q.order_by(InvoiceReceivableRow.due_date, InvoiceReceivableRow.invoice_id)))


def _money(row: InvoiceReceivableRow) -> dict[str, str | None]:
    remaining = receivables.state(row).amount_remaining
    return {"amount": amount_text(remaining, row.currency.lower()), "currency": row.currency.upper()}


class DunningRunner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        schedule: DunningSchedule,
        *,
        charge: Charger | None = None,
        finalized: Callable[[datetime], list[dict[str, Any]]] | None = None,
        catalog: Catalog | None = None,
        mirror: Callable[[], int] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[], None] = lambda: None,
        refund: Refunder | None = None,
    ) -> None:
        """``finalized(since)`` lists the invoices settlement finalized since then (the warehouse's
        ``finalized_since``); with ``catalog`` the loop opens their receivables as they appear. ``refund`` pays
        credit notes' refunds out through Stripe (``streams.store.refunds``): pending ones, failed ones again."""
        self._sessions, self._schedule, self._charge, self._clock = sessions, schedule, charge, clock
        self._refund = refund
        self._finalized, self._catalog, self._mirror = finalized, catalog, mirror
        self._on_change = on_change
        self.wake = asyncio.Event()

    # -- one round --------------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> Round:
        now = now or self._clock()
        done = Round(
            opened=self._intake(now),
            steps=self._failed_payments(now),
            reminders=self._reminders(now),
            past_due=self._overdue_accounts(now),
            recovered=self._recoveries(now),
            renewals=self._renewals(now),
            refunds=self._refunds(now),
        )
        if done.total:
            self._on_change()  # wake the relays: notices, webhook events and subscription versions to send
        self._mirror_receivables()
        return done

    def _mirror_receivables(self) -> None:
        """Copy the round's receivable changes (and any payment since) to ClickHouse for analysts."""
        if self._mirror is None:
            return
        try:
            self._mirror()
        except SinkUnavailable as exc:  # mirrored on a later round: the store keeps every change
            log.warning("collection loop: receivables not mirrored for now: %s", exc)

    def _intake(self, now: datetime) -> int:
        """Open the receivables of invoices finalized lately (their ``invoice_finalized`` notice and event go
        with them, ``streams.notify.invoices``): due dates, reminders and dunning start from here."""
        if self._finalized is None or self._catalog is None:
            return 0
        try:
            docs = self._finalized(now - INTAKE_WINDOW)
        except SinkUnavailable as exc:  # the warehouse down delays the intake, not the dunning steps
            log.warning("collection loop: finalized invoices unknown for now: %s", exc)
            return 0
        with self._sessions() as s:
            ids = [d["invoice_id"] for d in docs]
            known = set(
                s.scalars(select(InvoiceReceivableRow.invoice_id).where(InvoiceReceivableRow.invoice_id.in_(ids)))
            )
        opened = 0
        for doc in docs:
            if doc["invoice_id"] in known:
                continue
            with self._sessions.begin() as s:
                receivables.open_document(s, self._catalog, doc)
            opened += 1
        return opened

    def _failed_payments(self, now: datetime) -> int:
        """One step per past_due subscription whose latest retry day has come and was not yet taken."""
        with self._sessions() as s:
            ids = list(
                s.scalars(
                    select(Subscription.id).where(
                        Subscription.status == "past_due", Subscription.grace_until.is_not(None)
                    )
                )
            )
        return sum(self._step(sub_id, now) for sub_id in ids)

    def _step(self, sub_id: str, now: datetime) -> int:
        sched = self._schedule
        with self._sessions.begin() as s:
            row = store.get(s, sub_id, for_update=True)
            if row is None or row.status != "past_due" or row.grace_until is None:
                return 0
            failed_at = row.grace_until - sched.grace
            steps = sched.steps_due(failed_at, now)
            if not steps:
                return 0
            step = steps[-1]
            key = f"dunning:{row.id}:{failed_at:%Y%m%dT%H%M%S}:{step}"
            if _noticed(s, key):
                return 0
            owed = _owed_now(s, row.account_id, now)
            # Meterline retries the invoices it issued; Stripe's Smart Retries retry what a Stripe subscription bills.
            failures = [self._retry(s, inv, f"{failed_at:%Y%m%dT%H%M%S}-{step}", now) for inv in owed]
            still = [inv for inv, failure in zip(owed, failures, strict=True) if failure is not None]
            if owed and not still:  # the retry collected everything owed
                recovered = lifecycle.payment_recovered(store.plan_of(row), now)
                if recovered is not None:
                    store.save_plan(s, row, recovered, now, "payment_recovered")
                enqueue_notice(s, "payment_succeeded", row.account_id, key, {"invoice_id": owed[0].number}, now)
                return 1
            last = step == len(sched.retry_days)
            nxt = sched.next_retry(failed_at, now)
            unpaid = still or owed
            first = unpaid[0] if unpaid else None
            context: dict[str, object] = {
                "invoice_id": first.number if first is not None else None,
                "step": f"attempt {step} of {len(sched.retry_days)}",
                "next_retry": None if last or nxt is None else nxt.date().isoformat(),
                "final": last,
                **(_money(first) if first is not None else {}),
            }
            enqueue_notice(s, "dunning_step", row.account_id, key, context, now)
            return 1

    def _retry(self, s: Session, inv: InvoiceReceivableRow, attempt: str, now: datetime) -> str | None:
        """Charge ``inv`` again and record the attempt; the failure reason, or None when paid."""
        if inv.collection != "charge_automatically" or self._charge is None:
            return "not_charged_automatically"
        owed = receivables.state(inv).amount_remaining
        failure = self._charge(inv.invoice_id, attempt)
        try:
            receivables.record_payment(
                s, inv.invoice_id, max(owed, 1), "card", now, source="dunning", recorded_by=RECORDED_BY,
                failure_reason=failure,
            )  # fmt: skip
        except rc.TransitionError:  # paid meanwhile (a webhook in between): nothing left to record
            return None
        return failure

    def _reminders(self, now: datetime) -> int:
        """Net-terms invoices: the reminder due around the due date, and ``invoice.overdue`` once overdue."""
        today = now.date()
        sent = 0
        with self._sessions.begin() as s:
            rows = s.scalars(
                select(InvoiceReceivableRow).where(
                    InvoiceReceivableRow.status == "open", InvoiceReceivableRow.collection == "send_invoice"
                )
            )
            for inv in rows:
                offset = self._schedule.reminder_due(inv.due_date, today)
                if offset is None:
                    continue
                context: dict[str, object] = {
                    "invoice_id": inv.number,
                    "due_date": inv.due_date.isoformat(),
                    "days": abs(offset),
                    "overdue": offset > 0,
                    **_money(inv),
                }
                key = f"reminder:{inv.invoice_id}:{offset}"
                if enqueue_notice(s, "invoice_reminder", inv.account_id, key, context, now):
                    sent += 1
                if inv.due_date < today and s.get(Organization, inv.account_id) is not None:
                    data = {"account_id": inv.account_id, "invoice_id": inv.invoice_id, **context}
                    enqueue_event(s, inv.account_id, "invoice.overdue", f"msg_overdue_{inv.invoice_id}", data, now)
        return sent

    def _overdue_accounts(self, now: datetime) -> int:
        """Accounts with an invoice overdue past the limit go ``past_due`` (reason ``invoice_overdue``)."""
        today = now.date()
        moved = 0
        with self._sessions.begin() as s:
            accounts = {
                inv.account_id
                for inv in receivables.overdue(s, today)
                if self._schedule.past_due_from_overdue(inv.due_date, today)
            }
            for account in sorted(accounts):
                row = store.open_subscription(s, account)
                if row is None:
                    continue
                new = lifecycle.invoice_overdue(store.plan_of(row), now)
                if new is not None:
                    store.save_plan(s, row, new, now, "invoice_overdue")
                    moved += 1
        return moved

    def _recoveries(self, now: datetime) -> int:
        """Invoiced accounts (no Stripe subscription: its own webhooks restore those) that owe nothing now are
        ``active`` again: the balance was paid (a wire transfer recorded, a retry, the API's pay)."""
        moved = 0
        with self._sessions.begin() as s:
            rows = s.scalars(
                select(Subscription).where(
                    Subscription.status.in_(("past_due", "unpaid")), Subscription.stripe_subscription_id.is_(None)
                )
            )
            for row in list(rows):
                if _owed_now(s, row.account_id, now):
                    continue
                new = lifecycle.payment_recovered(store.plan_of(row), now)
                if new is not None:
                    store.save_plan(s, row, new, now, "payment_recovered")
                    moved += 1
        return moved

    def _renewals(self, now: datetime) -> int:
        """A ``renewal_upcoming`` notice once per annual term, ``renewal_notice_days`` before it renews."""
        if self._catalog is None:
            return 0
        sent = 0
        with self._sessions.begin() as s:
            rows = s.scalars(
                select(Subscription).where(
                    Subscription.interval == "year",
                    Subscription.status.in_(("active", "trialing")),
                    Subscription.cancel_at.is_(None),
                )
            )
            for row in list(rows):
                renews = contract_year_containing(row.anchor, now).end
                version = store.history(s, row.account_id).at(now)
                if version is None or not self._schedule.renewal_notice_due(renews, now):
                    continue
                catalog = self._catalog.at(now)
                tier = version.tier_of(dict(catalog.tiers))
                fee = sum((f.get("year", Decimal(0)) for f in (tier.base_fee, tier.platform_fee)), Decimal(0))
                context = {
                    "plan": tier.display_name,
                    "renews_on": renews.date().isoformat(),
                    "amount": f"{fee:.2f}" if fee else None,
                    "currency": catalog.currency.upper(),
                }
                key = f"renewal:{row.id}:{renews.date().isoformat()}"
                if enqueue_notice(s, "renewal_upcoming", row.account_id, key, context, now):
                    sent += 1
        return sent

    def _refunds(self, now: datetime) -> int:
        """Pay out the credit notes' Stripe refunds due (``refunds.due``): each keyed by its credit note, its
        failure kept with the reason and asked again after a growing delay (``refunds.retry_delay``)."""
        if self._refund is None:
            return 0
        with self._sessions() as s:
            ids = [n.id for n in refunds.due(s, now)]
        paid = 0
        for note_id in ids:
            note = refunds.pay_out(self._sessions, self._refund, note_id, now, Origin("system:collection"))
            if note.refund_status == "succeeded":
                paid += 1
            else:
                log.warning("collection loop: refund of %s failed: %s", note.number, note.refund_failure)
        return paid

    # -- the loop ---------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        async def drain() -> int:
            return (await asyncio.to_thread(self.run_once)).total

        await run_relay("dunning", drain, self.wake, stop, interval, max_backoff=300.0)
