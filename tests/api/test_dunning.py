"""The dunning loop on the billing store, SQLite and PostgreSQL, time passed in (docs/notifications.md,
"Dunning"): a failed charge retried on days 1, 3, 5 and 7 with a notice each time, ``unpaid`` at the last step
(free-tier entitlements, no base fee) and ``active`` again once paid; a net-30 invoice reminded before and after
its due date, told to the organization's webhooks once overdue, ``past_due`` 30 days after, paid by a wire.

The charge is a stand-in for Stripe's answer (failure injection: stripe-mock never declines on demand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rating import lifecycle
from rating.catalog.loader import load_catalog
from rating.dunning import DunningSchedule
from rating.receivables import PaymentTerms
from streams.dunning.runner import DunningRunner
from streams.store import orgs
from streams.store import receivables as rcv
from streams.store import subscription_store as store
from streams.store.db import sessions
from streams.store.models import (
    NoticeRow,
    PaymentRow,
    Subscription,
    SubscriptionVersionRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)

JUNE = datetime(2026, 6, 1, tzinfo=UTC)
FAILED = datetime(2026, 7, 1, 9, tzinfo=UTC)
SCHEDULE = DunningSchedule()


def _org_with_subscription(
    engine: Engine,
    tier: str = "standard",
    interval: Literal["month", "year"] = "month",
    anchor: date = date(2026, 6, 1),
) -> tuple[str, str]:
    with sessions(engine).begin() as s:
        org = orgs.create_organization(s, "Acme", "ann", JUNE, email="ap@acme.test")
        row = Subscription(
            id="msub_0000000000000042",
            organization_id=org.id,
            account_id=org.id,
            account_kind="org",
            anchor=anchor,
            tier=tier,
            interval=interval,
            status="active",
            open_account_id=org.id,
            created_at=JUNE,
            updated_at=JUNE,
        )
        s.add(row)
        s.flush()
        store.save_plan(s, row, lifecycle.Plan(tier, interval, "active"), JUNE, "create")
        return org.id, row.id


def _fail(engine: Engine, sub_id: str, at: datetime) -> None:
    """What ``invoice.payment_failed`` does to the subscription (streams/api/routes/webhooks.py)."""
    with sessions(engine).begin() as s:
        row = store.get(s, sub_id, for_update=True)
        assert row is not None
        new = lifecycle.payment_failed(store.plan_of(row), at, SCHEDULE.grace)
        assert new is not None
        store.save_plan(s, row, new, at, "payment_failed")


def _status(engine: Engine, account: str, t: datetime) -> str:
    with sessions(engine)() as s:
        v = store.history(s, account).at(t)
        assert v is not None
        return v.status


def _notices(engine: Engine, kind: str) -> list[NoticeRow]:
    with sessions(engine)() as s:
        return list(s.scalars(select(NoticeRow).where(NoticeRow.kind == kind).order_by(NoticeRow.id)))


def test_a_failed_charge_runs_the_schedule_to_unpaid_and_is_restored_when_paid(engine: Engine) -> None:
    account, sub_id = _org_with_subscription(engine)
    with sessions(engine).begin() as s:
        inv = rcv.finalize(s, "in_acme_2026-06", account, 4999, "usd", PaymentTerms(), FAILED).invoice_id
    _fail(engine, sub_id, FAILED)
    charges: list[tuple[str, str]] = []

    def declined(invoice_id: str, attempt: str) -> str | None:
        charges.append((invoice_id, attempt))
        return "card_declined"

    runner = DunningRunner(sessions(engine), SCHEDULE, charge=declined)
    assert runner.run_once(FAILED + timedelta(hours=12)).total == 0  # day 1 has not come
    for day, next_retry in ((1, "2026-07-04"), (3, "2026-07-06"), (5, "2026-07-08"), (7, None)):
        now = FAILED + timedelta(days=day, minutes=5)
        assert runner.run_once(now).steps == 1
        assert runner.run_once(now).steps == 0  # a second round (or a second API process) repeats nothing
        assert _notices(engine, "dunning_step")[-1].context["next_retry"] == next_retry
    assert len(charges) == 4 and len({a for _, a in charges}) == 4  # one idempotency key per attempt
    steps = _notices(engine, "dunning_step")
    assert [n.context["step"] for n in steps] == [f"attempt {i} of 4" for i in (1, 2, 3, 4)]
    assert steps[-1].context["final"] is True and steps[-1].recipient == "ap@acme.test"
    assert steps[0].context["amount"] == "49.99" and steps[0].context["invoice_id"] == "ML-000001"
    with sessions(engine)() as s:
        attempts = list(s.scalars(select(PaymentRow).where(PaymentRow.invoice_id == inv)))
    assert [(p.outcome, p.failure_reason, p.source) for p in attempts] == [("failed", "card_declined", "dunning")] * 4
    # past_due while retrying, unpaid (the default tier's entitlements, no base fee) from the last step on
    assert _status(engine, account, FAILED + timedelta(days=6)) == "past_due"
    assert _status(engine, account, FAILED + timedelta(days=7)) == "unpaid"
    # the balance paid by a wire transfer: active again, told once
    paid_at = FAILED + timedelta(days=9)
    with sessions(engine).begin() as s:
        rcv.record_payment(s, inv, 4999, "wire", paid_at, source="operator", recorded_by="ops", reference="WIRE-1")
    done = runner.run_once(paid_at + timedelta(minutes=1))
    assert done.recovered == 1 and runner.run_once(paid_at + timedelta(minutes=2)).total == 0
    assert _status(engine, account, paid_at + timedelta(minutes=1)) == "active"
    with sessions(engine)() as s:
        reasons = list(s.scalars(select(SubscriptionVersionRow.reason).order_by(SubscriptionVersionRow.id)))
    assert reasons[-1] == "payment_recovered" and "payment_failed" in reasons


def test_each_transition_is_told_to_the_organizations_webhooks_with_its_reason(engine: Engine) -> None:
    account, sub_id = _org_with_subscription(engine)
    with sessions(engine).begin() as s:
        s.add(
            WebhookEndpointRow(
                id="we_2", organization_id=account, url="http://127.0.0.1:9/hook",
                event_types=["subscription.updated"], secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", created_at=JUNE,
            )
        )  # fmt: skip
    _fail(engine, sub_id, FAILED)
    with sessions(engine)() as s:
        [told] = [d.payload["data"] for d in s.scalars(select(WebhookDeliveryRow))]
    assert (told["status"], told["reason"], told["account_id"]) == ("past_due", "payment_failed", account)
    [later] = told["scheduled"]
    assert (later["status"], later["reason"]) == ("unpaid", "dunning_exhausted")
    assert later["effective_from"] == (FAILED + timedelta(days=7)).isoformat()


def test_a_retry_that_collects_restores_the_subscription_at_once(engine: Engine) -> None:
    account, sub_id = _org_with_subscription(engine)
    with sessions(engine).begin() as s:
        inv = rcv.finalize(s, "in_acme_2026-06", account, 4999, "usd", PaymentTerms(), FAILED).invoice_id
    _fail(engine, sub_id, FAILED)
    answers = iter(["card_declined", None])
    runner = DunningRunner(sessions(engine), SCHEDULE, charge=lambda i, a: next(answers))
    assert runner.run_once(FAILED + timedelta(days=1, minutes=1)).steps == 1
    assert runner.run_once(FAILED + timedelta(days=3, minutes=1)).steps == 1
    with sessions(engine)() as s:
        assert rcv.get(s, inv).status == "paid"
    assert _status(engine, account, FAILED + timedelta(days=3, minutes=1)) == "active"
    assert _status(engine, account, FAILED + timedelta(days=8)) == "active"  # the scheduled unpaid is undone
    assert [n.kind for n in _notices(engine, "payment_succeeded")] == ["payment_succeeded"]
    assert runner.run_once(FAILED + timedelta(days=5, minutes=1)).total == 0


def test_a_net_30_invoice_is_reminded_goes_overdue_and_is_paid_by_wire(engine: Engine) -> None:
    account, _ = _org_with_subscription(engine, tier="enterprise")
    issued = datetime(2026, 7, 1, 9, tzinfo=UTC)
    with sessions(engine).begin() as s:
        s.add(
            WebhookEndpointRow(
                id="we_1", organization_id=account, url="http://127.0.0.1:9/hook",
                event_types=["invoice.overdue"], secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", created_at=issued,
            )
        )  # fmt: skip
        inv = rcv.finalize(s, "in_acme_2026-06", account, 1_250_000, "usd", PaymentTerms("send_invoice", 30), issued)
        assert inv.due_date == date(2026, 7, 31)
        inv_id = inv.invoice_id
    runner = DunningRunner(sessions(engine), SCHEDULE, charge=lambda i, a: pytest.fail("net terms are not charged"))
    at = lambda d: datetime(2026, d.month, d.day, 8, tzinfo=UTC)  # noqa: E731
    assert runner.run_once(at(date(2026, 7, 27))).reminders == 0
    assert runner.run_once(at(date(2026, 7, 28))).reminders == 1  # 3 days before
    assert runner.run_once(at(date(2026, 7, 29))).reminders == 0
    assert runner.run_once(at(date(2026, 8, 1))).reminders == 1  # 1 day after
    reminders = _notices(engine, "invoice_reminder")
    assert [(n.context["overdue"], n.context["days"], n.context["amount"]) for n in reminders] == [
        (False, 3, "12500.00"),
        (True, 1, "12500.00"),
    ]
    with sessions(engine)() as s:
        events = list(s.scalars(select(WebhookDeliveryRow.event_type)))
    assert events == ["invoice.overdue"]  # once, however many rounds see it overdue
    assert _status(engine, account, at(date(2026, 8, 30))) == "active"
    assert runner.run_once(at(date(2026, 8, 30))).past_due == 0  # 30 days overdue is the limit
    assert runner.run_once(at(date(2026, 8, 31))).past_due == 1
    assert _status(engine, account, at(date(2026, 8, 31))) == "past_due"
    assert _status(engine, account, at(date(2026, 12, 31))) == "past_due"  # no grace: until it is paid
    with sessions(engine).begin() as s:
        rcv.record_payment(s, inv_id, 500_000, "wire", at(date(2026, 9, 2)), source="operator", recorded_by="ops")
    assert runner.run_once(at(date(2026, 9, 2))).recovered == 0  # partly paid: still owed
    with sessions(engine).begin() as s:
        rcv.record_payment(s, inv_id, 750_000, "wire", at(date(2026, 9, 3)), source="operator", recorded_by="ops")
    assert runner.run_once(at(date(2026, 9, 3))).recovered == 1
    assert _status(engine, account, at(date(2026, 9, 3))) == "active"


def test_no_notice_when_nothing_is_past_due(engine: Engine) -> None:
    _org_with_subscription(engine)
    runner = DunningRunner(sessions(engine), SCHEDULE)
    assert runner.run_once(FAILED).total == 0
    with Session(engine) as s:
        assert s.scalar(select(NoticeRow.id)) is None


def test_an_annual_plan_is_told_of_its_renewal_once_30_days_before(engine: Engine) -> None:
    _org_with_subscription(engine, interval="year", anchor=date(2026, 1, 15))
    runner = DunningRunner(sessions(engine), SCHEDULE, catalog=load_catalog())
    assert runner.run_once(datetime(2026, 12, 15, 23, tzinfo=UTC)).renewals == 0  # 30 days and an hour before
    assert runner.run_once(datetime(2026, 12, 16, 1, tzinfo=UTC)).renewals == 1
    assert runner.run_once(datetime(2027, 1, 10, tzinfo=UTC)).renewals == 0  # once per term
    [notice] = _notices(engine, "renewal_upcoming")
    assert notice.context == {"plan": "Standard", "renews_on": "2027-01-15", "amount": "499.90", "currency": "USD"}
