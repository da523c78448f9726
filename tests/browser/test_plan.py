"""Changing plan in a real browser: the upgrade is described before it is confirmed, then the real API applies it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import ServedApi, axe_violations, open_app, screenshot

pytestmark = pytest.mark.integration


def test_upgrade_is_previewed_then_confirmed(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Upgrade Co", "pat")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"})
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]

    page = open_app(browser, api, org, "pat")
    page.goto(f"{api.base}/app/plans")
    page.get_by_label("Plan", exact=True).select_option("enterprise")
    page.get_by_role("button", name="Review the change").click()
    review = page.get_by_role("region", name="Review the change")
    expect(review).to_contain_text("Upgrade to enterprise")
    assert api.call(org, "GET", f"/api/billing/subscriptions/{sub_id}").json()["tier"] == "standard"
    assert axe_violations(page) == []
    screenshot(page, "plan-upgrade-review")

    page.get_by_role("button", name="Confirm the upgrade").click()
    expect(page.get_by_role("status")).to_contain_text("Done: your plan is enterprise", timeout=20_000)
    assert api.call(org, "GET", f"/api/billing/subscriptions/{sub_id}").json()["tier"] == "enterprise"
    screenshot(page, "plan-upgraded")
