"""Plans in a real browser: the tiers compared from GET /plans; an upgrade previewed (the API's own figures) before it
is confirmed, then applied by the real API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import PHONE, ServedApi, axe_violations, clipped_tables, open_app, page_width, screenshot

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
    # The figures are the preview endpoint's, as the API computes them for this very change.
    # Enterprise is priced annually only, so the page switched "Billed" to Annual with the plan.
    expect(page.get_by_label("Billed")).to_have_value("year")
    wanted = {"action": "change", "tier": "enterprise", "interval": "year"}
    preview = api.call(org, "POST", f"/api/billing/subscriptions/{sub_id}/preview", wanted)
    assert preview.status_code == 200, preview.text
    figures = preview.json()
    expect(review).to_contain_text(f"{Decimal(figures['proration']):,.2f}", timeout=20_000)
    expect(review).to_contain_text(f"{Decimal(figures['next_invoice_total']):,.2f}")
    assert api.call(org, "GET", f"/api/billing/subscriptions/{sub_id}").json()["tier"] == "standard"
    assert axe_violations(page) == []
    screenshot(page, "plan-upgrade-review")

    page.get_by_role("button", name="Confirm the upgrade").click()
    expect(page.get_by_role("status")).to_contain_text("Done: your plan is enterprise", timeout=20_000)
    assert api.call(org, "GET", f"/api/billing/subscriptions/{sub_id}").json()["tier"] == "enterprise"
    screenshot(page, "plan-upgraded")


def test_plans_are_compared_side_by_side(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Compare Co", "cam")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    plans = api.call(org, "GET", "/api/billing/plans").json()["plans"]

    page = open_app(browser, api, org, "cam")
    page.goto(f"{api.base}/app/plans")
    for plan in plans:
        expect(page.get_by_role("article", name=plan["display_name"])).to_be_visible(timeout=20_000)
    standard = next(p for p in plans if p["tier"] == "standard")
    expect(page.get_by_role("article", name=standard["display_name"])).to_contain_text("Your current plan")
    assert page.get_by_text("Your current plan").count() == 1
    # Nothing of a plan is cut off at desktop width (its quota table used to hide the cap column).
    assert clipped_tables(page) == []
    for card in page.get_by_role("article").all():
        assert card.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1"), card.inner_text()
    premium = next(m for m in standard["metrics"] if m["metric"] == "premium_feature")
    for feature in premium["per_feature"]:  # prices per use, which the comparison did not show
        expect(page.get_by_role("group", name="Standard: quotas and overage")).to_contain_text(feature)
    assert axe_violations(page) == []
    screenshot(page, "plans-compared")

    phone = open_app(browser, api, org, "cam", viewport=PHONE)
    phone.goto(f"{api.base}/app/plans")
    expect(phone.get_by_role("heading", name="Compare plans")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []
    screenshot(phone, "plans-phone")
