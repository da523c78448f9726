"""Payments the store records itself are told, on SQLite and PostgreSQL (docs/notifications.md): a
``payment_succeeded`` email per payment (a partial one says what remains), ``invoice.paid`` to the
organization's endpoints once the invoice is paid in full; Stripe's payments and dunning's retries are told by
their own paths, so nothing is told twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from rating.receivables import PaymentTerms
from streams.notify.email import render
from streams.store import receivables as rcv
from streams.store.db import sessions
from streams.store.models import WebhookDeliveryRow, WebhookEndpointRow
from tests.api.test_dunning import _notices, _org_with_subscription

ISSUED = datetime(2026, 7, 1, 9, tzinfo=UTC)
INV = "in_acme_2026-06"


def _hook(endpoint_id: str, account: str) -> WebhookEndpointRow:
    """An endpoint of ``account`` for ``invoice.paid`` (never called: the deliveries are read from the store)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    url = "http://127.0.0.1:9/hook"
    return WebhookEndpointRow(
        id=endpoint_id, organization_id=account, url=url, event_types=["invoice.paid"], secret=secret, created_at=ISSUED
    )


def _paid_events(engine: Engine) -> list[dict[str, object]]:
    with sessions(engine)() as s:
        rows = s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.event_type == "invoice.paid"))
        return [{"event_id": d.event_id, **d.payload["data"]} for d in rows]


def test_a_wire_transfer_is_receipted_and_the_invoice_paid_event_goes_out_once_paid_in_full(engine: Engine) -> None:
    account, _ = _org_with_subscription(engine, tier="enterprise")
    with sessions(engine).begin() as s:
        s.add(_hook("we_paid", account))
        inv = rcv.finalize(s, INV, account, 1_250_000, "usd", PaymentTerms("send_invoice", 30), ISSUED)
        number = inv.number
    wired = ISSUED + timedelta(days=20)
    with sessions(engine).begin() as s:
        rcv.record_payment(
            s, inv.invoice_id, 250_000, "wire", wired, source="operator", recorded_by="ops", reference="W-1"
        )
    [first] = _notices(engine, "payment_succeeded")
    assert first.recipient == "ap@acme.test"
    assert (first.context["amount"], first.context["amount_remaining"]) == ("2500.00", "10000.00")
    subject, text, html = render("payment_succeeded", first.context)
    assert subject == f"Payment received for invoice {number}"
    assert "2500.00 USD by wire transfer (reference W-1)" in text and "10000.00 USD remains to be paid" in text
    assert "10000.00 USD remains to be paid" in html
    assert _paid_events(engine) == []  # partly paid: not invoice.paid yet

    with sessions(engine).begin() as s:
        rcv.record_payment(s, INV, 1_000_000, "wire", wired, source="operator", recorded_by="ops")
    second = _notices(engine, "payment_succeeded")[-1]
    assert "remains" not in render("payment_succeeded", second.context)[1]
    [paid] = _paid_events(engine)
    assert (paid["event_id"], paid["invoice_id"], paid["invoice_number"]) == (
        "msg_paid_in_acme_2026-06",
        "in_acme_2026-06",
        number,
    )


def test_stripe_payments_and_dunning_retries_are_not_told_twice_by_the_store(engine: Engine) -> None:
    account, _ = _org_with_subscription(engine)
    with sessions(engine).begin() as s:
        s.add(_hook("we_paid2", account))
        for i in (1, 2, 3):
            rcv.finalize(s, f"in_{i}", account, 4_999, "usd", PaymentTerms(), ISSUED)
    with sessions(engine).begin() as s:
        rcv.record_payment(s, "in_1", 4_999, "card", ISSUED, source="stripe", recorded_by="stripe")
        rcv.record_payment(s, "in_2", 4_999, "card", ISSUED, source="dunning", recorded_by="dunning")
        rcv.record_payment(s, "in_3", 4_999, "card", ISSUED, source="api", recorded_by="ann", failure_reason="declined")
    assert _notices(engine, "payment_succeeded") == []  # Stripe's webhook and the dunning step tell these
    assert [e["invoice_id"] for e in _paid_events(engine)] == ["in_2"]  # a retry's collection is told to systems
