"""The dashboard in a real browser on the real API: plan and usage as the API has them, readable at phone
and desktop widths with no serious accessibility violation, and nothing of another organization."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import PHONE, ServedApi, axe_violations, clipped_tables, open_app, page_width, screenshot

pytestmark = pytest.mark.integration


def test_dashboard_shows_the_org_plan_at_desktop_and_phone_width(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Browser Co", "pat")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"})
    assert r.status_code == 201, r.text
    usage = api.call(org, "GET", f"/api/billing/usage/current?account={org.id}").json()

    page = open_app(browser, api, org, "pat")
    page.goto(f"{api.base}/app/")
    expect(page.get_by_role("heading", name="Billing dashboard")).to_be_visible(timeout=20_000)
    overview = page.get_by_role("region", name="Subscription")
    plans = {p["tier"]: p["display_name"] for p in api.call(org, "GET", "/api/billing/plans").json()["plans"]}
    expect(overview).to_contain_text(plans[usage["tier"]])  # the catalog's name ("Standard"), not the id
    table = page.get_by_role("table")
    # A row per entitled metric (and the header), each by its name as people read it, never its id.
    entitled = [m for m in usage["metrics"] if m["entitled"]]
    expect(table.get_by_role("row")).to_have_count(len(entitled) + 1)
    expect(table.get_by_role("row", name="API calls")).to_be_visible()
    expect(table).not_to_contain_text("_")
    expect(page.get_by_text("As of")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "dashboard-desktop")

    phone = open_app(browser, api, org, "pat", viewport=PHONE)
    phone.goto(f"{api.base}/app/")
    expect(phone.get_by_role("heading", name="Billing dashboard")).to_be_visible(timeout=20_000)
    expect(phone.get_by_role("region", name="Usage per metric")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    # Every column of the usage (remaining, the bar, the charge so far) on the screen: a row per block, not a
    # table whose last columns sit off to the side.
    assert clipped_tables(phone) == []
    assert axe_violations(phone) == []
    screenshot(phone, "dashboard-phone")


def test_a_member_of_another_org_sees_nothing_of_this_one(browser: Browser, api: ServedApi) -> None:
    victim = api.bootstrap("Victim Co", "vic")
    assert api.call(victim, "POST", "/api/billing/subscriptions/create", {"tier": "enterprise"}).status_code == 201
    attacker = api.bootstrap("Attacker Co", "mal")

    # No sign-in link acts in an organization the person is not a member of.
    with pytest.raises(subprocess.CalledProcessError):
        api.server.login_link("mal", victim.id)

    page = open_app(browser, api, attacker, "mal")
    expect(page.get_by_label("Billing account")).to_have_text(attacker.id, timeout=20_000)
    # With the attacker's own session cookie, the victim's account id (a stolen id) reaches nothing.
    for path in (
        f"/api/billing/usage/current?account={victim.id}",
        f"/api/billing/invoices?account={victim.id}",
        f"/api/billing/organizations/{victim.id}/subscriptions",
    ):
        status = page.evaluate("async (p) => (await fetch(p)).status", path)
        assert status in (403, 404), (path, status)
    # A write with the cookie but without the CSRF header is refused.
    post = (
        "async (p) => (await fetch(p, {method: 'POST', headers: {'content-type': 'application/json'},"
        " body: JSON.stringify({tier: 'enterprise'})}))"
    )
    status = page.evaluate(f"{post}.status", "/api/billing/subscriptions/create")
    assert status == 403
    expect(page.get_by_text("enterprise")).to_have_count(0)
    screenshot(page, "other-org-own-view")


def test_keyboard_reaches_the_pages_and_invoices_say_when_there_are_none(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Keys Co", "kim")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "free"}).status_code == 201

    page = open_app(browser, api, org, "kim", viewport=PHONE)
    page.goto(f"{api.base}/app/")
    expect(page.get_by_role("heading", name="Billing dashboard")).to_be_visible(timeout=20_000)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Invoices")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.get_by_text("No invoices yet")).to_be_visible(timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "invoices-empty-phone")


def test_a_prefetched_link_still_signs_in_from_an_accessible_page(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Scan Co", "sam")
    link = api.server.login_link("sam", org.id)
    # A mail scanner fetches the link before the person opens it: that uses nothing up.
    assert httpx.get(link, timeout=30).status_code == 200
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Sign in to Meterline billing")).to_be_visible()
    assert axe_violations(page) == []
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "sign-in-phone")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{api.base}/app/")
    expect(page.get_by_label("Billing account")).to_have_text(org.id, timeout=20_000)
    # The link is spent now: opening it again says so, with no button.
    again = browser.new_context().new_page()
    again.goto(link)
    expect(again.get_by_text("used already")).to_be_visible()
    expect(again.get_by_role("button", name="Sign in")).to_have_count(0)
