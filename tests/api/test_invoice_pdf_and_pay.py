"""A finalized invoice (settled in real chDB) as a PDF, and paid through its Stripe mirror (stripe-mock):
once, by owners and admins only."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rating.catalog.loader import load_catalog
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from streams.api.invoice_pdf import render_invoice
from streams.api.models import InvoiceDocument, InvoiceLine
from streams.api.routes.invoices import _wants_pdf
from streams.api.warehouse import Warehouse
from streams.settlement.job import stripe_client
from streams.settlement.stripe_invoicing import InvoicePusher
from tests.support.api import CH_DB, Api
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def check_pdf(pdf: bytes) -> str:
    """Structure of a PDF 1.4 file: header, objects where the xref table says, stream lengths, %%EOF."""
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[startxref:].startswith(b"xref\n0 ")
    table = pdf[startxref:].split(b"\n")
    count = int(table[1].split()[1])
    offsets = [int(line[:10]) for line in table[3 : 2 + count]]
    for n, off in enumerate(offsets, start=1):
        assert pdf[off:].startswith(b"%d 0 obj\n" % n), n
    m = re.search(rb"<< /Length (\d+) >>\nstream\n", pdf)
    assert m is not None
    content = pdf[m.end() : m.end() + int(m.group(1))]
    assert pdf[m.end() + int(m.group(1)) :].startswith(b"\nendstream")
    assert b"/Helvetica" in pdf and b"/Count 1" in pdf
    return content.decode("cp1252")


def test_the_pdf_of_a_document_is_well_formed_and_escapes_text() -> None:
    doc = InvoiceDocument(
        invoice_id="in_acme_2026-05",
        account_id="acme",
        period_start=MAY,
        period_end=datetime(2026, 6, 1, tzinfo=UTC),
        currency="usd",
        status="final",
        lines=[
            InvoiceLine(
                code="base_fee",
                description="Standard (monthly) \\ base",
                quantity="1",
                unit_price="49.99",
                amount="49.99",
            ),
            *[
                InvoiceLine(code=f"line_{i}", description="Überzug €", quantity="1", unit_price="1", amount="1.00")
                for i in range(40)
            ],
        ],
        subtotal="1089.99",
        total="1089.99",
    )
    text = check_pdf(render_invoice(doc, account_name="Acme (EU)"))
    assert "Standard \\(monthly\\) \\\\ base" in text and "Acme \\(EU\\)" in text
    assert "Überzug €" in text  # WinAnsi
    assert "$1,089.99" in text and "line_27" in text and "line_28" not in text
    assert "... 12 more lines" in text and "$12.00" in text


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


async def _finalized_invoice(api: Api, warehouse: Warehouse, members: dict[str, str]) -> tuple[str, str]:
    """An organization on standard whose May 2026 invoice is finalized (49.99 + 500.00 overage)."""
    org = await api.org("ivy", members=members)
    h = api.as_user("ivy", org)
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

    settler = api_settler(api, client, lambda: [org])
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
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"vic": "viewer", "mo": "member"})
        h = api.as_user("ivy", org)
        r = await api.client.get(f"/api/billing/invoices/{inv}", headers=h)
        assert r.headers["content-type"].startswith("application/json") and r.json()["total"] == "549.99"

        r = await api.client.get(f"/api/billing/invoices/{inv}", headers={**h, "accept": "application/pdf"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert f'filename="{inv}.pdf"' in r.headers["content-disposition"]
        text = check_pdf(r.content)
        for needle in ("549.99", "base_fee", "api_calls_overage", "500.00", "49.99", inv, org, "Acme"):
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
    # The payment is in the store: a restarted API refuses it too.
    async with make_api() as api:
        r = await api.client.post(pay, headers=api.as_user("ivy", org))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "already_paid")
