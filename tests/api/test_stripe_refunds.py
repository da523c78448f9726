"""Stripe's ``charge.refunded`` on SQLite and PostgreSQL: a refund made in Stripe of a paid pushed invoice is a
credit note refunded from what was paid (never an edit of the invoice), found from the Stripe invoice the charge
paid; Stripe sends the total refunded, so a redelivery credits nothing twice; another tenant's customer changes
nothing (docs/invoices.md, "Credit notes")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.api.warehouse import Warehouse
from streams.store import audit, receivables
from streams.store.models import StripeCustomer
from tests.api.test_invoice_pdf_and_pay import MAY, _finalized_invoice


async def test_a_refund_in_stripe_is_a_credit_note_refunded_once(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        owner = api.as_user("ivy", org)
        other = await api.org("zed", name="Other")
        with api.ctx.sessions.begin() as s:
            s.add(StripeCustomer(stripe_customer_id="cus_rf_ivy", account_id=org, created_at=MAY))
            s.add(StripeCustomer(stripe_customer_id="cus_rf_zed", account_id=other, created_at=MAY))
        n = iter(range(100))

        def event(kind: str, obj: dict[str, Any]) -> bytes:
            body = {"id": f"evt_rf{next(n)}", "type": kind, "created": 1_781_000_000, "data": {"object": obj}}
            return orjson.dumps(body)

        assert (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()["status"] == "open"
        paid = {
            "id": "in_rf1",
            "object": "invoice",
            "customer": "cus_rf_ivy",
            "metadata": {"meterline_invoice_id": inv},
        }
        assert (await api.webhook(event("invoice.paid", paid))).json()["outcome"] == "applied"

        def refunded(total: int, customer: str = "cus_rf_ivy", reason: str = "requested_by_customer") -> bytes:
            charge = {
                "id": "ch_rf1",
                "object": "charge",
                "customer": customer,
                "invoice": "in_rf1",  # no meterline metadata on a charge: found by the Stripe invoice it paid
                "amount_refunded": total,
                "refunds": {"object": "list", "data": [{"id": "re_1", "reason": reason}]},
            }
            return event("charge.refunded", charge)

        assert (await api.webhook(refunded(10_000, customer="cus_rf_zed"))).json()["outcome"] == (
            "ignored:account_mismatch"
        )
        assert (await api.webhook(refunded(10_000))).json()["outcome"] == "applied"
        assert (await api.webhook(refunded(10_000))).json()["outcome"] == "ignored:no_change"  # the same total again
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["status"], doc["amount_due"], doc["amount_paid"], doc["total"]) == (
            "paid",
            44_999,
            44_999,
            "549.99",
        )
        assert (await api.webhook(refunded(54_999, reason="duplicate"))).json()["outcome"] == "applied"
        unknown = {
            "id": "ch_x",
            "object": "charge",
            "customer": "cus_rf_ivy",
            "invoice": "in_nope",
            "amount_refunded": 5,
        }
        assert (await api.webhook(event("charge.refunded", unknown))).json()["outcome"] != "applied"

        with api.ctx.sessions() as s:
            notes = receivables.credit_notes(s, inv)
            refunds = [p for p in receivables.payments(s, inv) if p.outcome == "refunded"]
        assert [(c.amount, c.refunded, c.credited, c.reason, c.created_by) for c in notes] == [
            (10_000, 10_000, 0, "order_change", "stripe:ch_rf1"),
            (44_999, 44_999, 0, "duplicate", "stripe:ch_rf1"),
        ]
        assert sorted(p.amount for p in refunds) == [10_000, 44_999]
        with api.ctx.sessions() as s:
            logged = audit.entries(s, org, audit.AuditFilter(action="credit_note.issued"))
        assert sorted(((e.after or {})["refunded"], e.actor) for e in logged) == [
            (10_000, "stripe"),
            (44_999, "stripe"),
        ]
        r = await api.client.get(f"/api/billing/payments?invoice={inv}&status=refunded", headers=owner)
        assert sorted(p["amount"] for p in r.json()["payments"]) == [10_000, 44_999]
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["amount_due"], doc["amount_paid"], doc["amount_remaining"]) == (0, 0, 0)
