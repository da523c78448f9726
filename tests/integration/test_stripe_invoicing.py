"""Finalized enterprise invoices pushed to Stripe (real HTTP to stripe-mock through the ``stripe``
package, requests recorded by the stand-in): send_invoice with the contract's terms, one item per
line with idempotency keys derived from the line, and never pushed twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import clickhouse_connect
import pytest

from deploy.local.stripe_standin import StripeMeterStandIn
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.stripe.invoices import StripeInvoices
from sinks.stripe.meter import DEFAULT_POLICY
from streams.settings import Settings
from streams.settlement.job import stripe_client
from streams.settlement.stripe_invoicing import InvoicePusher
from tests.integration.test_settlement import DB, World

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
# A period that ended a few days ago (Stripe-side look-back is 120 days).
START = (NOW - timedelta(days=40)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("chdb-invoicing")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, DB, datetime.now(UTC))
    w = World(client)
    anchor = date(START.year, START.month, 1)
    w.subscribe("ent-i", "enterprise", START, kind="org", anchor=anchor, customer="cus_ent_i")
    w.subscribe("std-i", "standard", START, anchor=anchor, customer="cus_std_i")  # metered, not invoiced
    for u in range(120):
        w.insert(w.events("ent-i", "active_user", START + timedelta(days=1, minutes=u), [1], user_id=f"u{u}"))
    end = (START + timedelta(days=32)).replace(day=1)
    w.settle(end + timedelta(days=2))
    yield w
    client.close()


def test_enterprise_invoice_pushed_once(world: World, stack: Settings) -> None:
    with StripeMeterStandIn(stack.resolved_stripe_api_base) as standin:
        s = stack.model_copy(update={"stripe_api_base": standin.url})

        def pusher() -> InvoicePusher:
            return InvoicePusher(
                stripe_client(s),
                world.store,
                ClickHouseReportLedger(world.client, DB),
                world.settler._catalog,
                world.registry.history,
            )

        assert pusher().push_due(datetime.now(UTC)) == {"acknowledged": 1}
        creates = [f for p, f, _ in standin.posts if p == "/v1/invoices"]
        assert len(creates) == 1
        assert creates[0]["customer"] == "cus_ent_i"
        assert (creates[0]["collection_method"], creates[0]["days_until_due"]) == ("send_invoice", "30")
        items = sorted((f["metadata[code]"], f["amount"]) for p, f, _ in standin.posts if p == "/v1/invoiceitems")
        # Platform fee $10,000 (the anniversary period) and 120 seats at $40 (volume tier 101-500).
        assert items == [("platform_fee", "1000000"), ("seats", "480000")]
        keys = [k for p, _, k in standin.posts]
        assert all(keys) and len(set(keys)) == len(keys)  # every write keyed, each once
        assert any(p.endswith("/finalize") for p, _, _ in standin.posts)
        # Pushed once: a later run (a restarted worker, a fresh ledger) sends nothing.
        before = len(standin.posts)
        assert pusher().push_due(datetime.now(UTC)) == {}
        assert len(standin.posts) == before


def test_stripe_tax_is_asked_for_when_enabled(stack: Settings) -> None:
    """``METERLINE_STRIPE_AUTOMATIC_TAX``: the invoice is created with Stripe Tax on, and stripe-mock
    accepts the parameter (docs/invoices.md); off by default."""
    doc = {
        "invoice_id": "in_tax_2026-05",
        "currency": "usd",
        "period_start": "2026-05-01T00:00:00+00:00",
        "period_end": "2026-06-01T00:00:00+00:00",
        "lines": [{"code": "platform_fee", "description": "Platform fee", "amount": "100.00"}],
    }
    with StripeMeterStandIn(stack.resolved_stripe_api_base) as standin:
        s = stack.model_copy(update={"stripe_api_base": standin.url})
        for enabled, ident in ((True, "tax-on"), (False, "tax-off")):
            StripeInvoices(stripe_client(s), DEFAULT_POLICY, automatic_tax=enabled).send(doc, "cus_tax", 30, ident)
        on, off = [f for p, f, _ in standin.posts if p == "/v1/invoices"]
        assert on["automatic_tax[enabled]"] == "true"
        assert "automatic_tax[enabled]" not in off
