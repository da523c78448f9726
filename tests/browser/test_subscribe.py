"""Subscribing from the app, in real Chromium against the real API: a person in no organization (on the catalog's
Free plan) chooses Standard, reads the API's preview of the first invoice — its proration line's quantity the same
figure as its description — and subscribes; the plan page and the dashboard then say Standard, by the catalog's
names. Going back to Free at the period end and cancelling work as for an organization. And an Enterprise
organization nobody has used yet, then on a provisioned contract with a minimum of 5 seats: the admin panel's
seats say the seat price, never "this plan bills no seats". Desktop and phone; axe-core clean."""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, expect

from tests.support.api import JWT_SECRET
from tests.support.browser import PHONE, ServedApi, axe_violations, open_app, phone_checked, screenshot, user_token

pytestmark = pytest.mark.integration


def _own_subscriptions(api: ServedApi, user: str) -> list[dict[str, object]]:
    r = httpx.get(
        f"{api.base}/api/billing/subscriptions",
        params={"account": user},
        headers={"authorization": f"Bearer {user_token(user)}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    subs: list[dict[str, object]] = r.json()["subscriptions"]
    return subs


def test_a_person_in_no_organization_subscribes_to_standard_and_back(browser: Browser, api: ServedApi) -> None:
    page = open_app(browser, api, None, "pia")  # nobody made pia an organization: a person on their own
    page.get_by_role("navigation").get_by_role("link", name="Plan", exact=True).click()
    choose = page.get_by_role("region", name="Choose a plan")
    expect(choose).to_be_visible(timeout=20_000)
    expect(page.get_by_role("article", name="Free")).to_contain_text("Your current plan")
    # The catalog's names, not its ids.
    standard = page.get_by_role("group", name="Standard: quotas and overage")
    expect(standard).to_contain_text("API calls")
    expect(standard).to_contain_text("Deep research")
    expect(standard).not_to_contain_text("api_calls")
    expect(choose.get_by_label("Plan")).to_have_value("standard")
    expect(choose.get_by_label("Billed")).to_have_value("month")
    choose.get_by_role("button", name="Review").click()

    review = choose.get_by_role("region", name="Review the subscription")
    expect(review).to_contain_text("Subscribe to Standard (Monthly) from today")
    expect(review).to_contain_text("First invoice", timeout=20_000)
    expect(review).to_contain_text("$49.99 on")  # the next invoice: the whole monthly fee
    line = review.get_by_role("row").filter(has_text="of its term left")
    described = re.search(r"(\d\.\d{4}) of its term left", line.inner_text())
    assert described is not None, line.inner_text()
    # The quantity column shows the figure the description gives (0.9731 both, not 0.973 beside 0.9731).
    expect(line.get_by_role("cell").first).to_have_text(described.group(1).rstrip("0").rstrip("."))
    first_total = review.get_by_role("row", name=re.compile("^Total")).get_by_role("cell").last.inner_text()
    assert _own_subscriptions(api, "pia") == []  # a preview makes nothing
    assert axe_violations(page) == []
    screenshot(page, "subscribe-review")

    phone = open_app(browser, api, None, "pia", viewport=PHONE)
    phone.goto(f"{api.base}/app/plans")
    phone.get_by_role("region", name="Choose a plan").get_by_role("button", name="Review").click()
    expect(phone.get_by_role("region", name="Review the subscription")).to_contain_text("First invoice", timeout=20_000)
    phone_checked(phone, "subscribe-review-phone")

    review.get_by_role("button", name="Subscribe to Standard").click()
    current = page.get_by_role("region", name="Current plan")
    expect(current).to_contain_text("Standard", timeout=20_000)
    expect(current).to_contain_text("Monthly")
    expect(page.get_by_role("article", name="Standard")).to_contain_text("Your current plan")
    [sub] = _own_subscriptions(api, "pia")
    assert (sub["tier"], sub["account_kind"], sub["organization_id"]) == ("standard", "user", None)
    assert axe_violations(page) == []
    screenshot(page, "subscribed-standard")

    # Back to Free at the period's end: reviewed, confirmed, scheduled.
    page.get_by_label("Plan", exact=True).select_option("free")
    page.get_by_role("button", name="Review the change").click()
    change = page.get_by_role("region", name="Review the change")
    expect(change).to_contain_text("Downgrade to Free (Monthly) on")
    change.get_by_role("button", name="Confirm the downgrade").click()
    expect(current).to_contain_text("Scheduled", timeout=20_000)
    expect(current).to_contain_text("Free (Monthly) from")
    assert _own_subscriptions(api, "pia")[0]["pending_change"] is not None
    screenshot(page, "subscribed-standard-back-to-free")

    current.get_by_role("button", name="Cancel at the end of the period").click()
    expect(current.get_by_role("button", name="Keep my plan (undo the cancellation)")).to_be_visible(timeout=20_000)
    assert _own_subscriptions(api, "pia")[0]["cancel_at"] is not None

    page.get_by_role("navigation").get_by_role("link", name="Dashboard", exact=True).click()
    overview = page.get_by_role("region", name="Subscription")
    expect(overview).to_contain_text("Standard", timeout=20_000)
    expect(overview).to_contain_text("Canceling on")
    # The next invoice is the one the preview showed, not the Free plan's read before subscribing.
    expect(page.get_by_role("region", name="Next invoice")).to_contain_text(first_total, timeout=20_000)
    expect(page.get_by_role("row", name=re.compile("^API calls"))).to_be_visible(timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "subscribed-dashboard")


def test_an_enterprise_organizations_seats_say_their_price(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Seat Co", "olga")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "enterprise"})
    assert r.status_code == 201, r.text
    page = open_app(browser, api, org, "olga")
    page.goto(f"{api.base}/app/admin")
    seats = page.get_by_role("region", name="Seats", exact=True)
    expect(seats).to_contain_text("0 seats billed so far", timeout=20_000)
    expect(seats).to_contain_text("at $50.00, $0.00 in all")
    expect(seats).to_contain_text("Enterprise")
    expect(seats).not_to_contain_text("bills no seats")
    screenshot(page, "seats-enterprise-unused")

    contract = {"seat_basis": "provisioned", "minimum_seats": 5}
    operator = jwt.encode({"sub": "ops-1", "meterline_operator": True, "exp": int(time.time()) + 600}, JWT_SECRET)
    r = httpx.put(
        f"{api.base}/api/billing/subscriptions/{r.json()['id']}/contract",
        json={"contract": contract},
        headers={"authorization": f"Bearer {operator}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    page.reload()
    expect(seats).to_contain_text("5 seats billed so far (the most members at once", timeout=20_000)
    expect(seats).to_contain_text("at $50.00, $250.00 in all")
    assert axe_violations(page) == []
    screenshot(page, "seats-enterprise-provisioned")
