"""After settlement, end to end: the forecasts are refreshed into ClickHouse ``forecasts`` and a budget that
the forecast passes sends its alert once — an email kept in the Maildir of the project's SMTP server (a real
process) and a ``budget.alert`` webhook event — however often settlement runs again (real chDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from deploy.local.smtp import SmtpSink, messages
from sinks.clickhouse.forecasts import Forecasts
from streams.api.common import store_histories
from streams.api.warehouse import Warehouse
from streams.notify.email import SmtpSettings
from streams.notify.relays import EmailRelay
from streams.settings import Settings
from streams.settlement.forecast_refresh import ForecastRefresh
from streams.store.models import WebhookDeliveryRow
from tests.support.api import CH_DB, open_warehouse
from tests.support.processes import free_port
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"


@pytest.fixture
def warehouse(stack_settings: Settings, tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse per test, not per module: the test settles into July, and a settlement run never settles
    less than the last one did, so the next store's run of June would find June closed."""
    yield from open_warehouse(stack_settings, tmp_path / "chdb")


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    sink = SmtpSink(data_dir=tmp_path, port=free_port())
    sink.start(timeout=30)
    try:
        yield sink
    finally:
        sink.stop()


async def test_settlement_sends_a_budget_alert_once_by_email_and_webhook(
    make_api: Callable[..., Any], warehouse: Warehouse, smtp_sink: SmtpSink
) -> None:
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("bud", name="Budgeted")
        quiet = await api.org("qui", name="Quiet")  # under its budget: no alert
        h = api.as_user("bud", org)
        r = await api.client.patch(f"{ORGS}/{org}", json={"billing_email": "ap@budgeted.test"}, headers=h)
        assert r.status_code == 200, r.text
        for o, who in ((org, "bud"), (quiet, "qui")):
            r = await api.client.post(
                "/api/billing/subscriptions/create",
                json={"tier": "standard", "anchor": "2026-05-01"},
                headers=api.as_user(who, o),
            )
            assert r.status_code == 201, r.text
        body = {"url": "https://hooks.budgeted.test/in", "event_types": ["budget.alert"]}
        endpoint = (await api.client.post(f"{ORGS}/{org}/webhook-endpoints", json=body, headers=h)).json()["id"]
        assert (
            await api.client.put(f"/api/billing/budgets?account={org}", json={"amount": "300"}, headers=h)
        ).is_success
        qh = api.as_user("qui", quiet)
        assert (
            await api.client.put(f"/api/billing/budgets?account={quiet}", json={"amount": "300"}, headers=qh)
        ).is_success

        # 5,000 calls a day (the quiet one 1,000): June ends at 150,000 calls, $549.99 (the forecast API's case).
        day, block = datetime(2026, 5, 1, 10, tzinfo=UTC), b""
        while day < datetime(2026, 6, 16, tzinfo=UTC):
            block += event_block(org, "bud", org, "api_calls", day, [5000], id_prefix=f"{org}-ba")
            block += event_block(quiet, "qui", quiet, "api_calls", day, [1000], id_prefix=f"{quiet}-ba")
            day += timedelta(days=1)
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        settler = api_settler(api, client, lambda: [org, quiet])

        refresh = ForecastRefresh(
            settler, store_histories(api.ctx.sessions), Forecasts(client, CH_DB), api.ctx.sessions
        )
        until, now = datetime(2026, 6, 16, tzinfo=UTC), datetime(2026, 6, 16, 0, 30, tzinfo=UTC)
        result = settler.settle(until, datetime.now(UTC))  # the events' storage time is real
        assert {org, quiet} <= result.accounts
        first = refresh.run(result.accounts, result.until, now)
        assert first.alerts == [f"budget_alert:{org}:2026-06:forecast"]
        assert not first.failed
        # Settling again (nothing new) and a refresh an hour later: no second alert.
        again = settler.settle(until, datetime.now(UTC))
        daily = refresh.run(again.accounts, again.until, now + timedelta(hours=1), daily=True)
        assert (daily.forecast, daily.alerts) == (0, [])  # both forecast today already: the worker skips them
        forced = refresh.run(again.accounts, again.until, now + timedelta(hours=1))
        assert (forced.forecast, forced.alerts) == (2, [])

        # The forecast against actual for analysts: the invoice total and the metric, as of June 16.
        rows = Forecasts(client, CH_DB).latest(org)
        by_metric = {m: (period, as_of, to_date, expected) for period, as_of, m, to_date, expected, _, _ in rows}
        assert by_metric["invoice_total"][0] == "2026-06"
        assert by_metric["invoice_total"][1].replace(tzinfo=UTC) == until
        assert Decimal(by_metric["invoice_total"][3]) == Decimal("549.99")
        assert (Decimal(by_metric["api_calls"][2]), Decimal(by_metric["api_calls"][3])) == (75000, 150000)

        # June closes with no more usage: the invoice is $49.99 and the view holds it beside the forecast.
        settler.settle(datetime(2026, 7, 2, 1, tzinfo=UTC), datetime.now(UTC))
        accuracy = client.query(
            f"SELECT days_elapsed, toString(expected), toString(actual), round(ape, 4), inside_80 "
            f"FROM {CH_DB}.v_forecast_accuracy WHERE account_id = '{org}'"
        ).result_rows
        assert [tuple(r) for r in accuracy] == [(15, "549.99", "49.99", 10.002, 0)]  # 500 / 49.99

        with api.ctx.sessions() as s:
            deliveries = s.scalars(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.event_type == "budget.alert")
            ).all()
        assert [(d.endpoint_id, d.event_id, d.payload["data"]["amount"]) for d in deliveries] == [
            (endpoint, f"budget_alert:{org}:2026-06:forecast", "549.99")
        ]
        relay = EmailRelay(api.ctx.sessions, SmtpSettings(host="127.0.0.1", port=smtp_sink.port), clock=lambda: now)
        assert await relay.drain() == 1
        assert await relay.drain() == 0
        await asyncio.sleep(0)
        kept = messages(smtp_sink.maildir)
        assert [(m["To"], m["Subject"]) for m in kept] == [
            ("ap@budgeted.test", "Budget alert: 2026-06 is forecast to pass your budget")
        ]
        text = kept[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "your budget of 300.00 USD (549.99 USD)" in text
