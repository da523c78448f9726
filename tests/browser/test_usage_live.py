"""Usage recorded through the real API and rated by a real worker shows on the dashboard as
``meterline quota show`` has it, without reloading the page: pushed by the API's server-sent events
(``/usage/stream``), or polled every 10 s when the stream cannot connect; "as of" either way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import ServedApi, open_app, screenshot

pytestmark = pytest.mark.integration


def test_recorded_usage_shows_live_as_quota_show_has_it(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Live Co", "lee")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    worker = api.worker()
    try:
        page = open_app(browser, api, org, "lee")
        page.goto(f"{api.base}/app/")
        row = page.get_by_role("row", name="API calls")
        expect(row).to_be_visible(timeout=20_000)
        expect(page.get_by_text("Updated as your usage changes.")).to_be_visible(timeout=20_000)
        # A second browser whose stream is cut (a proxy that drops it) polls instead.
        polled = open_app(browser, api, org, "lee")
        polled.context.route("**/api/billing/usage/stream*", lambda route: route.abort())
        polled.goto(f"{api.base}/app/")
        polled_row = polled.get_by_role("row", name="API calls")
        expect(polled.get_by_text("the live update stream is not connected")).to_be_visible(timeout=20_000)

        api.record(org, "lee", "api_calls", 40, times=3)
        api.wait_rated(org, "api_calls", 120, worker)
        quota = api.quota(org.id)["api_calls"]
        # The pages were not reloaded: the stream (and, without it, the poll) brings the figure in as quota show has it.
        expect(row.get_by_role("cell").first).to_have_text("120", timeout=60_000)
        expect(polled_row.get_by_role("cell").first).to_have_text("120", timeout=30_000)
        expect(polled.get_by_text("As of")).to_be_visible()
        expect(row.get_by_role("cell").nth(2)).to_have_text(f"{Decimal(str(quota['remaining'])):,.0f}")
        # Nothing is settled yet: today's live use is the chart's one (provisional) bar.
        expect(page.get_by_role("figure", name="Daily API calls, this period and the previous one")).to_be_visible()
        expect(page.get_by_text("Today, live (provisional)")).to_be_visible()
        screenshot(page, "dashboard-live-usage")
    finally:
        worker.terminate()
