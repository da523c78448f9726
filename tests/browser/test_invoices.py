"""Invoices in a real browser, seeded through the real path: a subscription made by the API, usage recorded by
the API and stored by a real worker, the period settled and its invoice finalized by ``meterline settle`` (all on
one warehouse, a bridge of its own). The invoice is opened with every line, its PDF downloaded, and paid: first
refused in words (it is not in Stripe yet), then paid once the settlement's own push mirrored it in stripe-mock."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from rating.catalog.loader import load_catalog
from sinks.clickhouse.client import connect
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.clickhouse.usage_queries import SettledReads
from streams.settings import Settings
from streams.settlement.job import stripe_client
from streams.settlement.stripe_invoicing import InvoicePusher
from tests.support.browser import (
    PHONE,
    Org,
    ServedApi,
    axe_violations,
    open_app,
    page_width,
    screenshot,
    served_api,
    shared_warehouse,
)
from tests.support.pdf import pdf_text
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def billed(stack_settings: Settings, tmp_path: Path) -> Iterator[tuple[ServedApi, str]]:
    """The API on a warehouse that a worker and ``meterline settle`` share with it; (api, warehouse DSN)."""
    (tmp_path / "api").mkdir()
    with (
        shared_warehouse(tmp_path / "warehouse") as dsn,
        served_api(stack_settings, tmp_path / "api", METERLINE_CLICKHOUSE_DSN=dsn) as api,
    ):
        yield api, dsn


def _finalized_invoice(api: ServedApi, dsn: str, org: Org, user: str) -> str:
    """Standard plan, 3 x 40,000 API calls recorded now; the period settled and finalized; its invoice id."""
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"})
    assert r.status_code == 201, r.text
    period = r.json()["current_period"]
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "org_id": org.id,
            "user_id": user,
            "metric": "api_calls",
            "quantity": 40_000,
            "timestamp": now,
        }
        for _ in range(3)
    ]
    client = connect(dsn)
    db = api.settings.clickhouse_database
    worker = api.worker()
    try:
        r = api.call(org, "POST", "/api/billing/usage/record", {"events": events})
        assert r.status_code == 200, r.text

        def stored() -> bool:
            rows = client.query(f"SELECT count() FROM {db}.events WHERE account_id = '{org.id}'").result_rows
            return bool(rows) and int(rows[0][0]) == 3

        wait_until(stored, 180, "the worker to store the recorded events in the warehouse", worker)
    finally:
        worker.terminate()
    # The period is over once settlement's clock passes its end and the grace: settle as of then.
    until = datetime.fromisoformat(period["end"]) + timedelta(hours=api.settings.settle_grace_hours + 2)
    api.cli("settle", "--until", until.isoformat(), "--json")
    return f"in_{org.id}_{period['key']}"


def _push_to_stripe(api: ServedApi, dsn: str, invoice: str) -> None:
    """The settlement's own push (``InvoicePusher``) of the finalized invoice to Stripe (stripe-mock)."""
    client, db = connect(dsn), api.settings.clickhouse_database
    found = SettledReads(lambda: client, db).invoice(invoice)
    assert found is not None
    pusher = InvoicePusher(
        stripe_client(api.settings),
        SettlementStore(client, db),
        ClickHouseReportLedger(client, db),
        load_catalog(),
        lambda _: None,
    )
    assert pusher.push(found[1], "cus_test", 30, datetime.now(UTC)) == "acknowledged"


def test_open_an_invoice_download_its_pdf_and_pay_it(browser: Browser, billed: tuple[ServedApi, str]) -> None:
    api, dsn = billed
    org = api.bootstrap("Invoice Co", "ines")
    invoice = _finalized_invoice(api, dsn, org, "ines")
    listed = api.call(org, "GET", f"/api/billing/invoices?account={org.id}").json()["invoices"]
    assert [i["invoice_id"] for i in listed] == [invoice], listed
    number, total = listed[0]["number"], listed[0]["total"]

    page = open_app(browser, api, org, "ines")
    page.goto(f"{api.base}/app/invoices")
    row = page.get_by_role("row", name=number)
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("Open")
    assert axe_violations(page) == []
    screenshot(page, "invoices-list")
    row.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible(timeout=20_000)
    lines = page.get_by_role("region", name="Invoice lines")
    expect(lines.get_by_role("row", name=re.compile("^Total"))).to_contain_text(f"${total}")
    expect(lines).to_contain_text("API calls")
    expect(page.get_by_text("No payment attempts on this invoice.")).to_be_visible(timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "invoice-detail")

    # The PDF, downloaded through the link with the session cookie: a PDF that names the invoice.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert number in text and total in text

    # Paying before the invoice is in Stripe fails, and the page says why in words.
    page.get_by_role("button", name="Pay now with the default payment method").click()
    # In words a customer reads: the invoice's number, not its internal id.
    expect(page.get_by_role("alert")).to_contain_text(f"invoice {number} cannot be paid here yet", timeout=20_000)
    expect(page.get_by_role("alert")).not_to_contain_text(invoice)
    screenshot(page, "invoice-pay-refused")

    _push_to_stripe(api, dsn, invoice)
    page.get_by_role("button", name="Pay now with the default payment method").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile("Paid|The payment went through"), timeout=20_000)
    expect(page.get_by_role("alert")).to_have_count(0)
    # The invoice now reads as paid: no "Pay now" any more.
    expect(page.locator(".badge").first).to_have_text("Paid", timeout=20_000)
    expect(page.get_by_role("button", name="Pay now with the default payment method")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "invoice-paid")

    phone = open_app(browser, api, org, "ines", viewport=PHONE)
    phone.goto(f"{api.base}/app/invoices/{invoice}")
    expect(phone.get_by_role("heading", name=f"Invoice {number}")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []
    screenshot(phone, "invoice-detail-phone")
