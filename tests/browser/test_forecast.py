"""The forecast in a real browser on the real API (issue 18): the dashboard's forecast card draws the period's
running total continuing as a dashed expected path in its band, the recommendations appear with their savings,
the admin panel's budget card sets a budget; axe-core clean at desktop and phone width; another organization's
session reaches none of it.

The served API, a real worker and this test share one warehouse through a warehouse bridge of the test's own (chDB
lets one process open a directory). The current period's usage goes the real way: recorded by the API, rated by the
worker into the live quota state and stored by it; the earlier months (older than ingest accepts) are written into
the warehouse directly; then everything is settled. So the API forecasts from real settled data, and the dashboard's
live usage table counts the same API calls as the settled chart and the forecast."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from deploy.local.warehouse import Warehouse as Bridge
from rating.catalog.loader import load_catalog
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.settlement import SettlementStore
from streams.api.common import store_histories
from streams.kafka.compacted import read_to_end
from streams.settings import Settings, connect_clickhouse
from streams.settlement.settler import Settler
from streams.store.db import make_engine, sessions
from streams.store.models import Subscription, SubscriptionVersionRow
from streams.topics import SUBSCRIPTIONS
from tests.support.browser import PHONE, Org, ServedApi, axe_violations, open_app, page_width, screenshot, served_api
from tests.support.processes import free_port, wait_until

pytestmark = pytest.mark.integration
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def api(stack_settings: Settings, tmp_path: Path) -> Iterator[ServedApi]:
    """The served API with a warehouse bridge of this test's own on its data directory."""
    s = stack_settings.model_copy(update={"data_dir": tmp_path})
    bridge = Bridge(data_dir=tmp_path, chdb_path=Path(s.resolved_clickhouse_dsn[len("chdb://") :]), port=free_port())
    bridge.start(timeout=60)
    try:
        # The DSN named, so the worker the test starts (a data dir of its own) writes to the same warehouse.
        with served_api(stack_settings, tmp_path, METERLINE_CLICKHOUSE_DSN=f"http://127.0.0.1:{bridge.port}") as served:
            yield served
    finally:
        bridge.stop()


def _anchor() -> date:
    """An anchor about ten days back (anchors are days 1-28), so the current period has settled days."""
    day = (TODAY - timedelta(days=10)).date()
    return day if day.day <= 28 else (TODAY - timedelta(days=13)).date()


def _backdate(api: ServedApi, account: str, anchor: date, since: datetime) -> None:
    """The subscription as if it had started four months ago (the API starts subscriptions now)."""
    engine = make_engine(f"sqlite:///{(api.settings.data_dir / 'billing.db').resolve()}")
    with sessions(engine).begin() as s:
        for row in s.scalars(select(SubscriptionVersionRow).where(SubscriptionVersionRow.account_id == account)):
            row.record = {**row.record, "effective_from": since.isoformat(), "anchor": anchor.isoformat()}
            row.effective_from = since
        for sub in s.scalars(select(Subscription).where(Subscription.account_id == account)):
            sub.anchor = anchor
    engine.dispose()


def _daily(day: datetime) -> list[tuple[str, int, dict[str, str]]]:
    """A day's usage: API calls with a weekly rhythm and 300 deep research uses."""
    calls = 6000 if day.weekday() < 5 else 2000
    return [("api_calls", calls, {}), ("premium_feature", 300, {"feature": "deep_research"})]


def _published(api: ServedApi, account: str) -> bool:
    """Whether the API's outbox put the account's subscription on billing.subscriptions yet."""
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        read = pool.submit(asyncio.run, read_to_end(api.settings.kafka_bootstrap, api.settings.topic(SUBSCRIPTIONS)))
        records = read.result()
    return any(r.key == account.encode() for r in records)


def _live_period(api: ServedApi, org: Org, anchor: date, since: datetime) -> dict[str, int]:
    """This period's days (anchor to yesterday) through the real path: the subscription's earlier start published
    to billing.subscriptions (the API starts subscriptions now), the events recorded by the API, rated by a real
    worker into the live quota state and stored by it in the shared warehouse. So the live usage table and the
    settled chart count the same events. Returns the period's totals per metric."""
    wait_until(lambda: _published(api, org.id), 60, "the API's outbox to publish the subscription")
    api.cli(
        "subscriptions", "put", "--account", org.id, "--kind", "org", "--tier", "standard",
        "--anchor", anchor.isoformat(), "--effective-from", since.isoformat(),
    )  # fmt: skip
    worker = api.worker()
    try:
        events: list[dict[str, object]] = []
        totals = {"api_calls": 0, "premium_feature": 0}
        day = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
        while day < TODAY:
            for metric, q, props in _daily(day):
                events.append(
                    {
                        "event_id": f"fc-live-{metric}-{day.date()}",
                        "org_id": org.id,
                        "user_id": "fay",
                        "metric": metric,
                        "quantity": q,
                        "timestamp": (day + timedelta(hours=10)).isoformat(),
                        "properties": props,
                    }
                )
                totals[metric] += q
            day += timedelta(days=1)
        r = api.call(org, "POST", "/api/billing/usage/record", {"events": events})
        assert r.status_code == 200, r.text
        for metric, used in totals.items():
            api.wait_rated(org, metric, used, worker)
        client, db = connect_clickhouse(api.settings), api.settings.clickhouse_database

        def stored() -> bool:
            rows = client.query(f"SELECT count() FROM {db}.events WHERE account_id = '{org.id}'").result_rows
            return bool(rows) and int(rows[0][0]) >= len(events)

        wait_until(stored, 180, "the worker to store the period's events in the warehouse", worker)
    finally:
        worker.terminate()
    return totals


def _settled_usage(api: ServedApi, org: Org, since: datetime, period_start: datetime) -> None:
    """The earlier periods' usage written straight into the warehouse (older than the ingest's lateness allows),
    and everything up to today settled."""
    rows: list[bytes] = []
    day = since
    while day < period_start:
        for metric, q, props in _daily(day):
            event = {
                "event_id": f"fc-{metric}-{day.date()}",
                "account_id": org.id,
                "user_id": "fay",
                "org_id": org.id,
                "metric": metric,
                "quantity": str(q),
                "ts_ms": int((day + timedelta(hours=10)).timestamp() * 1000),
                "properties": props,
                "source": "test",
            }
            rows.append(orjson.dumps(event))
        day += timedelta(days=1)
    client = connect_clickhouse(api.settings)
    db = api.settings.clickhouse_database
    migrate(client, db, datetime.now(UTC))
    client.raw_insert(f"{db}.events", None, insert_block=b"\n".join(rows) + b"\n", fmt="JSONEachRow")
    engine = make_engine(f"sqlite:///{(api.settings.data_dir / 'billing.db').resolve()}")
    histories = store_histories(sessions(engine))
    settler = Settler(
        SettlementStore(client, db), load_catalog(), histories, lambda: [org.id], visibility_margin=timedelta(0)
    )
    settler.settle(TODAY, datetime.now(UTC))
    engine.dispose()


def _world(api: ServedApi) -> tuple[Org, dict[str, Any], dict[str, int]]:
    org = api.bootstrap("Forecast Co", "fay")
    anchor = _anchor()
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard", "anchor": anchor.isoformat()})
    assert r.status_code == 201, r.text
    since = TODAY - timedelta(days=120)
    _backdate(api, org.id, anchor, since)
    live = _live_period(api, org, anchor, since)
    _settled_usage(api, org, since, datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC))
    r = api.call(org, "GET", f"/api/billing/forecast?account={org.id}")
    assert r.status_code == 200, r.text
    return org, r.json(), live


def test_the_forecast_band_and_recommendations_on_the_dashboard_and_the_budget_card(
    browser: Browser, api: ServedApi
) -> None:
    org, forecast, live = _world(api)
    assert forecast["days_elapsed"] >= 1
    # A budget under the forecast: the dashboard and the admin panel say it passes.
    r = api.call(org, "PUT", f"/api/billing/budgets?account={org.id}", {"amount": "100"})
    assert r.status_code == 200, r.text

    page = open_app(browser, api, org, "fay")
    card = page.get_by_role("region", name="Forecast for this period")
    expect(card).to_be_visible(timeout=20_000)
    expected = float(forecast["total"]["expected"])
    expect(card).to_contain_text(f"${expected:,.2f}", timeout=20_000)
    expect(card).to_contain_text("the forecast passes it")
    chart = card.get_by_role(
        "figure", name="API calls this period: settled so far, then the forecast to the period end"
    )
    expect(chart).to_be_visible(timeout=20_000)
    # The settled line, the dashed expected path and the band are drawn (recharts' SVG).
    expect(chart.locator("path.recharts-curve[stroke-dasharray='6 4']")).to_have_count(1)
    expect(chart.locator("path.recharts-area-area")).to_have_count(1)
    # The live usage table and the settled figures count the same events: both say this period's API calls.
    calls = f"{live['api_calls']:,}"
    usage = page.get_by_role("region", name="Usage this period")
    expect(usage.get_by_role("row", name="API calls")).to_contain_text(calls, timeout=20_000)
    expect(card).to_contain_text(f"API calls: {calls} so far")
    recs = page.get_by_role("region", name="Ways to pay less")
    expect(recs).to_contain_text("A contract price for deep research", timeout=20_000)
    expect(recs).to_contain_text("Saves $")
    assert axe_violations(page) == []
    screenshot(page, "forecast-dashboard-desktop")

    phone = open_app(browser, api, org, "fay", viewport=PHONE)
    expect(phone.get_by_role("region", name="Ways to pay less")).to_contain_text("deep research", timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []
    screenshot(phone, "forecast-dashboard-phone")

    page.goto(f"{api.base}/app/admin")
    budget = page.get_by_role("region", name="Budget")
    expect(budget).to_contain_text("$100.00", timeout=20_000)
    expect(budget).to_contain_text("passes the budget", timeout=20_000)
    budget.get_by_label("New budget").fill("100000")
    budget.get_by_role("button", name="Save budget").click()
    expect(budget.get_by_role("status")).to_contain_text("Saved: $100,000.00 a period.", timeout=20_000)
    expect(budget).not_to_contain_text("passes the budget")
    assert api.call(org, "GET", f"/api/billing/budgets?account={org.id}").json()["amount"] == "100000.00"
    assert axe_violations(page) == []
    screenshot(page, "forecast-admin-budget")


def test_another_organizations_session_reaches_no_forecast(browser: Browser, api: ServedApi) -> None:
    victim = api.bootstrap("Victim Co", "vic")
    assert api.call(victim, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    attacker = api.bootstrap("Attacker Co", "mal")
    page = open_app(browser, api, attacker, "mal")
    expect(page.get_by_label("Billing account")).to_have_text(attacker.id, timeout=20_000)
    for path in (
        f"/api/billing/forecast?account={victim.id}",
        f"/api/billing/recommendations?account={victim.id}",
        f"/api/billing/budgets?account={victim.id}",
        f"/api/billing/ai-mix?account={victim.id}",
    ):
        status = page.evaluate("async (p) => (await fetch(p)).status", path)
        assert status in (403, 404), (path, status)
    put = (
        "async (p) => (await fetch(p, {method: 'PUT', headers: {'content-type': 'application/json', "
        "'X-CSRF-Token': document.cookie.split('meterline_csrf=')[1]?.split(';')[0] ?? ''}, "
        "body: JSON.stringify({amount: '1'})})).status"
    )
    status = page.evaluate(put, f"/api/billing/budgets?account={victim.id}")
    assert status in (403, 404)
    assert api.call(victim, "GET", f"/api/billing/budgets?account={victim.id}").json()["amount"] is None
