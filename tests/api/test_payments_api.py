"""``GET /api/billing/payments`` and ``/invoices/{id}/payments`` on SQLite and PostgreSQL: who may see an
account's payment attempts (owners, admins, viewers and their keys; not members, not other organizations, not a
person's own token), and the filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.api.warehouse import Warehouse
from streams.store import receivables
from streams.store.models import StripeCustomer
from tests.api.test_invoice_pdf_and_pay import MAY, _finalized_invoice


async def test_payments_are_listed_for_whoever_may_read_the_account(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer", "mo": "member"})
        owner = api.as_user("ivy", org)
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["status"], doc["amount_due"]) == ("open", 54_999)
        wired = datetime(2026, 6, 12, 9, tzinfo=UTC)
        with api.ctx.sessions.begin() as s:  # the operator's wire transfer (meterline invoice record-payment)
            receivables.record_payment(
                s, inv, 20_000, "wire", wired, source="operator", recorded_by="operator:ops", reference="BANK-7"
            )
        expected = [
            {
                "invoice_id": inv,
                "account_id": org,
                "amount": 20_000,
                "currency": "usd",
                "method": "wire",
                "reference": "BANK-7",
                "status": "succeeded",
                "failure_reason": None,
                "source": "operator",
                "at": "2026-06-12T09:00:00Z",
            }
        ]

        def strip(body: dict[str, Any]) -> list[dict[str, Any]]:
            return [{k: v for k, v in p.items() if k != "id"} for p in body["payments"]]

        readers = [owner, api.as_user("adm", org), api.as_user("vic", org), await api.key(org, "ivy", "viewer")]
        for who in readers:
            r = await api.client.get("/api/billing/payments", headers=who)
            assert r.status_code == 200 and strip(r.json()) == expected, r.text
            r = await api.client.get(f"/api/billing/invoices/{inv}/payments", headers=who)
            assert r.status_code == 200 and strip(r.json()) == expected, r.text
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["status"], doc["amount_paid"], doc["amount_remaining"]) == ("open", 20_000, 34_999)

        member = api.as_user("mo", org)
        assert (await api.client.get("/api/billing/payments", headers=member)).status_code == 403
        assert (await api.client.get(f"/api/billing/invoices/{inv}/payments", headers=member)).status_code == 403
        other = await api.org("zed", name="Other")
        zed = api.as_user("zed", other)
        assert (await api.client.get(f"/api/billing/invoices/{inv}/payments", headers=zed)).status_code == 404
        assert (await api.client.get(f"/api/billing/payments?account={org}", headers=zed)).status_code in (403, 404)
        assert (await api.client.get("/api/billing/payments", headers=zed)).json() == {"payments": []}
        own = api.as_user("ivy")  # a person's own token: their personal account, not the organization's
        assert (await api.client.get("/api/billing/payments", headers=own)).json() == {"payments": []}
        r = await api.client.get(f"/api/billing/payments?account={org}", headers=own)
        assert strip(r.json()) == expected  # naming it: the owner reads it (auth.account_access, as for invoices)
        r = await api.client.get(f"/api/billing/payments?account={org}", headers=api.as_user("mo"))
        assert r.status_code in (403, 404)  # a member's own token does not

        for query, count in [
            ("status=succeeded", 1),
            ("status=failed", 0),
            (f"invoice={inv}", 1),
            (f"invoice=in_{org}_2026-04", 0),
            ("period=2026-05", 1),
            ("period=2026-04", 0),
            ("since=2026-06-12T09:00:00Z", 1),
            ("since=2026-06-12T09:00:01Z", 0),
            ("until=2026-06-12T09:00:00Z", 0),
        ]:
            r = await api.client.get(f"/api/billing/payments?{query}", headers=owner)
            assert len(r.json()["payments"]) == count, query
        r = await api.client.get("/api/billing/payments?since=2026-06-12T09:00:00", headers=owner)
        assert r.status_code == 422
        assert (await api.client.get("/api/billing/payments?period=2026-13", headers=owner)).status_code == 422


async def test_stripe_invoice_events_move_the_receivable_once_and_only_from_the_accounts_customer(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        owner = api.as_user("ivy", org)
        assert (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()["status"] == "open"
        other = await api.org("zed", name="Other")
        with api.ctx.sessions.begin() as s:
            s.add(StripeCustomer(stripe_customer_id="cus_rcv_ivy", account_id=org, created_at=MAY))
            s.add(StripeCustomer(stripe_customer_id="cus_rcv_zed", account_id=other, created_at=MAY))
        n = iter(range(100))

        def event(kind: str, customer: str) -> bytes:
            obj = {"id": "in_s1", "object": "invoice", "customer": customer, "metadata": {"meterline_invoice_id": inv}}
            return orjson.dumps(
                {"id": f"evt_rcv{next(n)}", "type": kind, "created": 1_781_000_000, "data": {"object": obj}}
            )

        # Another tenant's customer naming this invoice changes nothing.
        r = await api.webhook(event("invoice.paid", "cus_rcv_zed"))
        assert r.json()["outcome"] == "ignored:account_mismatch"
        assert (await api.webhook(event("invoice.payment_failed", "cus_rcv_ivy"))).json()["outcome"] == "applied"
        assert (await api.webhook(event("invoice.paid", "cus_rcv_ivy"))).json()["outcome"] == "applied"
        assert (await api.webhook(event("invoice.payment_succeeded", "cus_rcv_ivy"))).json()["outcome"] == (
            "ignored:no_change"
        )
        assert (await api.webhook(event("invoice.voided", "cus_rcv_ivy"))).json()["outcome"] == "ignored:invoice_paid"
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["status"], doc["amount_paid"], doc["amount_remaining"]) == ("paid", 54_999, 0)
        got = (await api.client.get(f"/api/billing/invoices/{inv}/payments", headers=owner)).json()["payments"]
        assert sorted((p["status"], p["failure_reason"] or "", p["source"], p["reference"]) for p in got) == [
            ("failed", "payment_failed", "stripe", "in_s1"),
            ("succeeded", "", "stripe", "in_s1"),
        ]
