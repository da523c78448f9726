"""A finalized invoice (settled in real chDB) as a PDF, and paid through its Stripe mirror (stripe-mock):
once, by owners and admins only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from rating.catalog.loader import load_catalog
from rating.periods import Period
from rating.tax import parse_tax_table
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from streams.api.invoice_pdf import render_invoice
from streams.api.models import InvoiceDocument, InvoiceLine
from streams.api.notice_attachments import invoice_pdf_attachments
from streams.api.routes.invoices import _wants_pdf
from streams.api.warehouse import Warehouse
from streams.settlement.job import stripe_client
from streams.settlement.stripe_invoicing import InvoicePusher
from streams.settlement.taxes import store_taxes
from streams.store import audit, receivables
from streams.store import subscription_store as store
from streams.store.models import NoticeRow, Subscription, WebhookDeliveryRow
from tests.support.api import CH_DB, Api
from tests.support.pdf import pdf_text
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
MAY = datetime(2026, 5, 1, tzinfo=UTC)
TAX_TABLE = parse_tax_table(
    '[[rates]]\ncountry = "DE"\nname = "VAT"\nrate = "0.19"\neffective_from = 2021-01-01\n', "test"
)


def test_the_pdf_of_a_document_keeps_markup_characters_and_non_latin_text() -> None:
    doc = InvoiceDocument(
        invoice_id="in_acme_2026-05",
        account_id="acme",
        period_start=MAY,
        period_end=datetime(2026, 6, 1, tzinfo=UTC),
        currency="usd",
        status="open",
        lines=[
            InvoiceLine(
                code="base_fee",
                description="Standard (monthly) <b> & \\ base",
                quantity="1",
                unit_price="49.99",
                amount="49.99",
            ),
            *[
                InvoiceLine(code=f"line_{i}", description="Überzug €", quantity="1", unit_price="1", amount="1.00")
                for i in range(40)
            ],
        ],
        subtotal="89.99",
        total="89.99",
    )
    text = pdf_text(render_invoice(doc, account_name="Acme (EU) & Co"))
    assert "Standard (monthly) <b> & \\ base" in text and "Acme (EU) & Co" in text
    assert "Überzug €" in text
    assert "$89.99" in text and "line_0" in text and "line_39" in text  # every line, none summed up


def test_accept_negotiation() -> None:
    assert _wants_pdf("application/pdf")
    assert _wants_pdf("application/pdf, application/json;q=0.5")
    assert not _wants_pdf("")
    assert not _wants_pdf("*/*")
    assert not _wants_pdf("application/json, application/pdf")
    assert not _wants_pdf("application/pdf;q=0")
    assert _wants_pdf("application/*;q=0.2, application/pdf")


def _events(org: str, at: datetime, quantities: list[int], user: str) -> bytes:
    return event_block(org, user, org, "api_calls", at, quantities, id_prefix=org)


async def _finalized_invoice(
    api: Api, warehouse: Warehouse, members: dict[str, str], *, address: dict[str, str] | None = None
) -> tuple[str, str]:
    """An organization on standard whose May 2026 invoice is finalized (49.99 + 500.00 overage), taxed from
    ``TAX_TABLE`` for its billing ``address`` when given."""
    org = await api.org("ivy", members=members)
    h = api.as_user("ivy", org)
    if address is not None:
        r = await api.client.patch(f"/api/billing/organizations/{org}", json={"billing_address": address}, headers=h)
        assert r.status_code == 200, r.text
    r = await api.client.post(
        "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=h
    )
    assert r.status_code == 201, r.text
    api.clock.now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    client = warehouse._open()
    client.raw_insert(
        f"{CH_DB}.events",
        None,
        insert_block=_events(org, MAY + timedelta(days=2), [60000, 90000], "ivy"),
        fmt="JSONEachRow",
    )

    def histories(account: str) -> Any:
        with api.ctx.sessions() as s:
            hist = store.history(s, account)
        return hist if hist.versions else None

    taxes = store_taxes(TAX_TABLE, api.ctx.sessions, histories) if address is not None else None
    settler = api_settler(api, client, lambda: [org], taxes=taxes)
    result = settler.settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))
    inv = f"in_{org}_2026-05"
    assert inv in result.finalized
    return org, inv


def _push_to_stripe(api: Api, warehouse: Warehouse, inv: str) -> None:
    """The settlement's own push (``InvoicePusher``) of the invoice to Stripe (stripe-mock)."""
    client = warehouse._open()
    found = warehouse.invoice(inv)
    assert found is not None
    pusher = InvoicePusher(
        stripe_client(api.settings),
        SettlementStore(client, CH_DB),
        ClickHouseReportLedger(client, CH_DB),
        load_catalog(),
        lambda _: None,
    )
    assert pusher.push(found[1], "cus_test", 30, datetime.now(UTC)) == "acknowledged"


async def test_invoice_as_pdf(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    seller = {"seller_name": "Meterline Test Ltd", "seller_address": "1 Main St|Dublin D02|IE", "seller_tax_id": "IE9S"}
    async with make_api(now=MAY, **seller, invoice_payment_instructions="Wire to IBAN IE00 TEST") as api:
        org, inv = await _finalized_invoice(api, warehouse, {"vic": "viewer", "mo": "member"})
        h = api.as_user("ivy", org)
        address = {"line1": "5 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}
        r = await api.client.patch(
            f"/api/billing/organizations/{org}", json={"billing_address": address, "tax_id": "FR40303265045"}, headers=h
        )
        assert r.status_code == 200, r.text
        r = await api.client.get(f"/api/billing/invoices/{inv}", headers=h)
        assert r.headers["content-type"].startswith("application/json") and r.json()["total"] == "549.99"

        r = await api.client.get(f"/api/billing/invoices/{inv}", headers={**h, "accept": "application/pdf"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert f'filename="{inv}.pdf"' in r.headers["content-disposition"]
        text = pdf_text(r.content)
        needles = ("549.99", "base_fee", "api_calls_overage", "500.00", "49.99", inv, org, "Acme", "5 Rue de la Paix")
        needles += ("75002 Paris", "FR40303265045", "Meterline Test Ltd", "Dublin D02", "IE9S", "IBAN IE00 TEST")
        for needle in needles:
            assert needle in text, needle
        assert "2026-05-01 to 2026-06-01" in text

        viewer = api.as_user("vic", org)
        r2 = await api.client.get(f"/api/billing/invoices/{inv}.pdf", headers=viewer)
        assert r2.status_code == 200 and r2.content == r.content
        # Members read only their own invoices; other organizations see nothing; bad ids are 400.
        assert (
            await api.client.get(f"/api/billing/invoices/{inv}.pdf", headers=api.as_user("mo", org))
        ).status_code == 403
        other = await api.org("zed", name="Other")
        r = await api.client.get(f"/api/billing/invoices/{inv}.pdf", headers=api.as_user("zed", other))
        assert (r.status_code, r.headers["content-type"]) == (404, "application/json")
        r = await api.client.get(f"/api/billing/invoices/in_{org}_2026-04.pdf", headers=h)
        assert r.status_code == 404
        assert (await api.client.get("/api/billing/invoices/nope.pdf", headers=h)).status_code == 400
        assert (await api.client.get(f"/api/billing/invoices/{inv}.pdf")).status_code == 401


async def test_pay_an_invoice_once_through_stripe(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer", "mo": "member"})
        pay = f"/api/billing/invoices/{inv}/pay"
        owner = api.as_user("ivy", org)
        r = await api.client.post(pay, headers=owner)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_in_stripe")

        _push_to_stripe(api, warehouse, inv)
        for who in (api.as_user("vic", org), api.as_user("mo", org), await api.key(org, "ivy", "viewer")):
            r = await api.client.post(pay, headers=who)
            assert r.status_code == 403, r.text
        other = await api.org("zed", name="Other")
        assert (await api.client.post(pay, headers=api.as_user("zed", other))).status_code == 404
        assert (await api.client.post(f"/api/billing/invoices/in_{org}_2026-04/pay", headers=owner)).status_code == 404

        r = await api.client.post(pay, headers=api.as_user("adm", org))
        assert r.status_code == 200, r.text
        paid = r.json()
        assert paid["invoice_id"] == inv and paid["account_id"] == org and paid["paid_by"] == "adm"
        assert paid["stripe_invoice_id"].startswith("in_") and paid["status"]
        assert Decimal(paid["amount_paid"]) >= 0 and paid["paid_at"] == "2026-06-10T12:00:00Z"

        for who in (owner, await api.key(org, "ivy", "admin")):
            r = await api.client.post(pay, headers=who)
            assert (r.status_code, r.json()["error"]["code"]) == (409, "already_paid"), r.text
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (doc["status"], doc["amount_due"], doc["amount_paid"], doc["amount_remaining"]) == (
            "paid",
            54_999,
            54_999,
            0,
        )
        with api.ctx.sessions() as s:
            got = [(p.method, p.amount, p.outcome, p.source, p.recorded_by) for p in receivables.payments(s, inv)]
        assert got == [("card", 54_999, "succeeded", "api", "adm")]
    # The payment is in the store: a restarted API refuses it too.
    async with make_api() as api:
        r = await api.client.post(pay, headers=api.as_user("ivy", org))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "already_paid")


async def test_a_self_issued_invoice_carries_the_tax_of_its_buyers_country(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """An organization billed in Germany, no Stripe customer: VAT 19 % of 549.99 = 104.4981 -> 104.50."""
    async with make_api(now=MAY) as api:
        address = {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE"}
        org, inv = await _finalized_invoice(api, warehouse, {}, address=address)
        h = api.as_user("ivy", org)
        doc = (await api.client.get(f"/api/billing/invoices/{inv}", headers=h)).json()
        taxes = [ln for ln in doc["lines"] if ln["code"].startswith("tax:")]
        assert taxes == [
            {
                "code": "tax:0.19",
                "description": "VAT 19% (DE)",
                "quantity": "549.99",
                "unit_price": "0.19",
                "amount": "104.50",
            }
        ]
        assert (doc["subtotal"], doc["total"]) == ("549.99", "654.49")
        text = pdf_text((await api.client.get(f"/api/billing/invoices/{inv}.pdf", headers=h)).content)
        assert "Tax (0.19)" in text and "$104.50" in text and "$654.49" in text

        # the same account once Stripe collects it: the table no longer applies (Stripe Tax does)
        def history(account: str) -> Any:
            with api.ctx.sessions() as s:
                return store.history(s, account)

        period = Period(MAY, datetime(2026, 6, 1, tzinfo=UTC))
        assert [r.rate for r in store_taxes(TAX_TABLE, api.ctx.sessions, history)(org, period)] == [Decimal("0.19")]
        with api.ctx.sessions() as s:
            sid = s.scalars(select(Subscription.id).where(Subscription.account_id == org)).one()
        api.link_stripe(sid, "cus_taxed")
        assert store_taxes(TAX_TABLE, api.ctx.sessions, history)(org, period) == ()


async def test_a_finalized_invoice_is_opened_and_told_once_by_the_collection_loop(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """The loop's intake reads the warehouse's newly finalized invoices (chDB), opens each receivable under the
    next number and enqueues one ``invoice_finalized`` email and one ``invoice.finalized`` webhook event."""
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        h = api.as_user("ivy", org)
        r = await api.client.post(
            f"/api/billing/organizations/{org}/webhook-endpoints",
            json={"url": "https://hooks.example.com/billing", "event_types": ["invoice.finalized"]},
            headers=h,
        )
        assert r.status_code == 201, r.text
        runner = api.app.state.dunning
        now = datetime.now(UTC)
        assert runner.run_once(now).opened >= 1  # (the shared warehouse may hold other tests' invoices too)
        assert runner.run_once(now).opened == 0  # known now: nothing opens or is told twice
        with api.ctx.sessions() as s:
            row = receivables.get(s, inv)
            notices = list(s.scalars(select(NoticeRow).where(NoticeRow.account_id == org)))
            events = list(s.scalars(select(WebhookDeliveryRow.event_type)))
        assert (row.status, row.amount_due) == ("open", 54999) and row.number.startswith("ML-")
        assert [(n.kind, n.context["invoice_number"]) for n in notices] == [("invoice_finalized", row.number)]
        assert notices[0].context["amount_due"] == "549.99" and notices[0].context["period"] == "2026-05"
        assert events == ["invoice.finalized"]
        # and mirrored for analysts in the same round
        mirrored = warehouse.rows(f"SELECT status, number FROM {CH_DB}.receivables FINAL WHERE invoice_id = '{inv}'")
        assert mirrored == [("open", row.number)]
        # the email's PDF is the one the API serves: number, due date, buyer
        with api.ctx.sessions() as s:
            attach = invoice_pdf_attachments(api.ctx.warehouse, api.settings, api.ctx.catalog)
            [pdf] = attach(s, s.get(NoticeRow, notices[0].id))
        text = pdf_text(pdf.content)
        assert row.number in text and "Acme" in text and row.due_date.isoformat() in text


async def test_credit_notes_correct_a_finalized_invoice_operators_only(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """A correction after finalization is a credit note, never an edit: the invoice document keeps its lines and
    total, what is owed goes down, then a refund; only the platform's operators issue one, the invoice's readers
    list them, other organizations see nothing."""
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer"})
        ops, admin = api.as_operator(), api.as_user("adm", org)
        url = f"/api/billing/invoices/{inv}/credit-notes"
        body = {"amount": "100.00", "reason": "order_change", "memo": "overage billed twice"}
        r = await api.client.post(url, json=body, headers=admin)
        assert r.status_code == 403 and "operator" in r.json()["error"]["message"]
        other = await api.org("zed", name="Other")
        assert (await api.client.post(url, json=body, headers=api.as_user("zed", other))).status_code == 404
        assert (await api.client.get(url, headers=api.as_user("zed", other))).status_code == 404

        r = await api.client.post(url, json=body, headers=ops)
        assert r.status_code == 201, r.text
        first = r.json()
        assert (first["number"], first["amount"], first["credited"], first["refunded"]) == (
            "ML-CN-000001",
            10000,
            10000,
            0,
        )
        r = await api.client.get(f"/api/billing/invoices/{inv}", headers=admin)
        doc = r.json()
        assert (doc["total"], doc["amount_due"], doc["amount_remaining"], doc["status"]) == (
            "549.99",
            44999,
            44999,
            "open",
        )

        with api.ctx.sessions.begin() as s:  # a wire transfer of what is now owed
            receivables.record_payment(s, inv, 44999, "wire", api.clock(), source="operator", recorded_by="ops")
        r = await api.client.post(url, json={"amount": "9.99", "reason": "duplicate"}, headers=ops)
        assert r.status_code == 201, r.text
        assert (r.json()["number"], r.json()["credited"], r.json()["refunded"]) == ("ML-CN-000002", 0, 999)
        too_much = await api.client.post(url, json={"amount": "500.00", "reason": "duplicate"}, headers=ops)
        assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "cannot_credit"

        r = await api.client.get(url, headers=api.as_user("vic", org))
        assert [c["number"] for c in r.json()["credit_notes"]] == ["ML-CN-000001", "ML-CN-000002"]
        r = await api.client.get(f"/api/billing/invoices/{inv}/payments", headers=admin)
        refunds = [p for p in r.json()["payments"] if p["status"] == "refunded"]
        assert [(p["amount"], p["reference"]) for p in refunds] == [(999, "ML-CN-000002")]
        r = await api.client.get(f"/api/billing/invoices/{inv}", headers=admin)
        doc = r.json()
        assert (doc["status"], doc["amount_due"], doc["amount_paid"], doc["total"]) == ("paid", 44000, 44000, "549.99")
        with api.ctx.sessions() as s:  # each in the organization's audit log, by the operator
            logged = audit.entries(s, org, audit.AuditFilter(action="credit_note.issued"))
        assert sorted((e.after or {})["number"] for e in logged) == ["ML-CN-000001", "ML-CN-000002"]
        assert {e.actor for e in logged} == {"operator:ops-1"} and {e.target for e in logged} == {inv}
