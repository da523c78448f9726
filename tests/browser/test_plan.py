"""Plans in a real browser: the tiers compared from GET /plans; an upgrade previewed (the API's own figures) before it
is confirmed, then applied by the real API; a past-due account (Stripe's signed webhook) told so, with the way out."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, expect

from streams.store import subscription_store
from streams.store.db import make_engine, sessions
from tests.support.api import sign, stripe_event
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
    expect(review).to_contain_text("Upgrade to Enterprise")
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
    expect(page.get_by_role("status")).to_contain_text("Done: your plan is Enterprise", timeout=20_000)
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
        expect(page.get_by_role("group", name="Standard: quotas and overage")).to_contain_text(
            feature.replace("_", " ").capitalize()
        )
    assert axe_violations(page) == []
    screenshot(page, "plans-compared")

    phone = open_app(browser, api, org, "cam", viewport=PHONE)
    phone.goto(f"{api.base}/app/plans")
    expect(phone.get_by_role("heading", name="Compare plans")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []
    screenshot(phone, "plans-phone")


def test_past_due_is_said_on_the_dashboard_and_the_plan_page_links_the_way_out(
    browser: Browser, api: ServedApi
) -> None:
    org = api.bootstrap("Late Co", "lou")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"})
    assert r.status_code == 201, r.text
    # Linked to its Stripe subscription as the mirror does, then Stripe says the invoice's payment failed.
    engine = make_engine(f"sqlite:///{(api.settings.data_dir / 'billing.db').resolve()}")
    with sessions(engine).begin() as s:
        row = subscription_store.get(s, r.json()["id"], for_update=True)
        assert row is not None
        subscription_store.link_stripe(s, row, "cus_late", "sub_late", datetime.now(UTC))
    engine.dispose()
    failed = stripe_event("evt_late_1", "invoice.payment_failed", int(time.time()), "sub_late", "cus_late")
    hook = httpx.post(
        f"{api.base}/api/billing/webhooks/stripe",
        content=failed,
        headers={"content-type": "application/json", "stripe-signature": sign(failed)},
        timeout=30,
    )
    assert hook.status_code == 200 and hook.json()["outcome"] == "applied", hook.text

    page = open_app(browser, api, org, "lou")
    expect(page.get_by_role("region", name="Subscription")).to_contain_text("Past due", timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "dashboard-past-due")
    page.get_by_role("navigation").get_by_role("link", name="Plan", exact=True).click()
    refusal = page.get_by_role("alert").filter(has_text="past due")
    expect(refusal).to_contain_text("pay the open invoice to change plan", timeout=20_000)
    expect(page.get_by_role("button", name="Review the change")).to_be_disabled()
    expect(page.get_by_role("region", name="Current plan")).to_contain_text("Past due")  # in words, not past_due
    assert axe_violations(page) == []
    screenshot(page, "plan-past-due")
    refusal.get_by_role("link", name="pay the open invoice").click()
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible(timeout=20_000)
