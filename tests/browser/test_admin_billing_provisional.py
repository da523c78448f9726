"""Provisional versus settled on /app/admin (issue 17): usage recorded through the real API and rated by a real
worker moves the provisional (live) figure of the admin's usage section at once, beside the settled figure the
invoice is made from (nothing settled yet: the worker stores into a warehouse of its own); a member is not shown
the organization's figures; axe-core clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot

pytestmark = pytest.mark.integration


def test_provisional_moves_beside_the_settled_figure(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Settle Co", "sol")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    join(api, org, "mia")
    worker = api.worker()
    try:
        page = open_app(browser, api, org, "sol")
        page.goto(f"{api.base}/app/admin")
        table = page.get_by_role("region", name="Provisional and settled usage")
        row = table.get_by_role("row", name="API calls")
        expect(row.get_by_role("cell").first).to_have_text("0", timeout=20_000)

        api.record(org, "sol", "api_calls", 40, times=3)
        api.wait_rated(org, "api_calls", 120, worker)
        # Without a reload: provisional 120, settled 0, all of it not yet settled.
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text("120", timeout=30_000)
        expect(cells.nth(1)).to_have_text("0")
        expect(cells.nth(2)).to_have_text("120")
        usage = page.get_by_role("region", name="Live usage by member")
        expect(usage).to_contain_text("Provisional usage charges")
        expect(usage).to_contain_text("Settled invoice so far")
        assert axe_violations(page) == []
        table.scroll_into_view_if_needed()
        screenshot(page, "admin-provisional-settled")

        member = open_app(browser, api, org, "mia")
        member.goto(f"{api.base}/app/admin")
        expect(member.get_by_role("region", name="Live usage by member")).to_contain_text("mia", timeout=20_000)
        expect(member.get_by_role("region", name="Provisional and settled usage")).to_have_count(0)
        assert member.request.get(f"{api.base}/api/billing/usage/current?account={org.id}").status == 403
    finally:
        worker.terminate()
