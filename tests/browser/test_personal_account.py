"""A person's own account in a real browser (signed in without an organization): a person on Standard sees their
plan, its interval and a cancellation on the dashboard, and manages the plan on /app/plans as an organization's owner
does (the app reads ``GET /subscriptions?account=``); a person without a subscription sees the plan in effect marked.
A session that ends while the app is open (signed out in another tab, or expired) turns into the sign-in page, not
into cards that fail with a "Try again" that cannot help. Desktop and phone; axe-core clean."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import (
    PHONE,
    ServedApi,
    axe_violations,
    clipped_tables,
    open_app,
    phone_checked,
    screenshot,
    user_token,
)

pytestmark = pytest.mark.integration


def _own_subscription(api: ServedApi, user: str, org: str, tier: str) -> dict[str, object]:
    """``user``'s own subscription, made with their own token (a user subscription names an organization of theirs)."""
    r = httpx.post(
        f"{api.base}/api/billing/subscriptions/create",
        json={"tier": tier, "account_kind": "user", "organization_id": org},
        headers={"authorization": f"Bearer {user_token(user)}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_a_person_on_standard_sees_and_manages_their_own_plan(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Home Co", "pia")
    sub = _own_subscription(api, "pia", org.id, "standard")
    assert sub["account_id"] == "pia"

    page = open_app(browser, api, None, "pia")
    expect(page.get_by_label("Billing account")).to_have_text("pia", timeout=20_000)
    # No admin panel on a person's own account (the link led to a page that only said so).
    expect(page.get_by_role("navigation").get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    overview = page.get_by_role("region", name="Subscription")
    expect(overview).to_contain_text("Standard", timeout=20_000)
    expect(overview).to_contain_text("Monthly", timeout=20_000)  # from the person's subscription, not guessed
    expect(page.get_by_role("region", name="Next invoice")).to_contain_text("$", timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "personal-dashboard")

    page.get_by_role("navigation").get_by_role("link", name="Plan", exact=True).click()
    current = page.get_by_role("region", name="Current plan")
    expect(current).to_contain_text("Standard", timeout=20_000)
    expect(page.get_by_role("article", name="Standard")).to_contain_text("Your current plan")
    assert clipped_tables(page) == []
    # Form controls in the page's own type size, not the browser's smaller default.
    sizes = page.evaluate(
        "() => [document.body, document.querySelector('#change-tier')].map((e) => getComputedStyle(e).fontSize)"
    )
    assert sizes[0] == sizes[1], sizes
    assert axe_violations(page) == []
    screenshot(page, "personal-plan")
    current.get_by_role("button", name="Cancel at the end of the period").click()
    expect(current.get_by_role("button", name="Keep my plan (undo the cancellation)")).to_be_visible(timeout=20_000)
    expect(current).to_contain_text("cancels on")
    own = httpx.get(
        f"{api.base}/api/billing/subscriptions?account=pia",
        headers={"authorization": f"Bearer {user_token('pia')}"},
        timeout=30,
    ).json()["subscriptions"]
    assert own[0]["cancel_at"] is not None, own
    screenshot(page, "personal-plan-canceling")
    page.get_by_role("navigation").get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("region", name="Subscription")).to_contain_text("Canceling on", timeout=20_000)

    # The person's own invoices and payment methods: their account's, no error and no refusal.
    for link, heading in (("Invoices", "Invoices"), ("Payment methods", "Payment methods")):
        page.get_by_role("navigation").get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=20_000)
        expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0, timeout=20_000)
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page.get_by_text("Not available to your role")).to_have_count(0)
        assert axe_violations(page) == []
        screenshot(page, f"personal-{link.lower().replace(' ', '-')}")

    phone = open_app(browser, api, None, "pia", viewport=PHONE)
    phone.goto(f"{api.base}/app/plans")
    expect(phone.get_by_role("region", name="Current plan")).to_contain_text("Standard", timeout=20_000)
    phone_checked(phone, "personal-plan-phone")


def test_a_person_without_a_subscription_sees_the_plan_in_effect(browser: Browser, api: ServedApi) -> None:
    api.bootstrap("Free Co", "fred")
    page = open_app(browser, api, None, "fred")
    page.goto(f"{api.base}/app/plans")
    expect(page.get_by_text("This account has no subscription: the plan marked below applies.")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_role("article", name="Free")).to_contain_text("Your current plan")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    # Nothing in the comparison is cut off at desktop width: the quotas are words, not a four-column table.
    assert clipped_tables(page) == []
    for plan in page.get_by_role("article").all():
        assert plan.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1"), plan.inner_text()
    expect(page.get_by_role("group", name="Standard: quotas and overage")).to_contain_text("Deep research")
    assert axe_violations(page) == []
    screenshot(page, "free-plans")

    phone = open_app(browser, api, None, "fred", viewport=PHONE)
    expect(phone.get_by_role("heading", name="Billing dashboard")).to_be_visible(timeout=20_000)
    expect(phone.get_by_role("region", name="Subscription")).to_contain_text("No subscription", timeout=20_000)
    phone_checked(phone, "free-dashboard-phone")


def test_a_session_that_ends_while_the_app_is_open_asks_to_sign_in_again(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Tab Co", "tia")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    page = open_app(browser, api, org, "tia")
    expect(page.get_by_role("region", name="Subscription")).to_contain_text("Standard", timeout=20_000)
    # Signed out elsewhere (another tab of the same browser): the session is dead on the server.
    logout = (
        "async () => (await fetch('/api/billing/session/logout', {method: 'POST', headers: {'X-CSRF-Token': "
        "document.cookie.split('meterline_csrf=')[1]?.split(';')[0] ?? ''}})).status"
    )
    assert page.evaluate(logout) == 204
    # The next page's call finds the session ended: the app says so once and how to sign in, not per card. (Moved
    # to the invoices in the app's own router: the dashboard's live usage may find the ended session first and
    # take the navigation away under a click.)
    page.evaluate("() => { history.pushState({}, '', '/app/invoices'); dispatchEvent(new PopStateEvent('popstate')); }")
    expect(page.get_by_role("heading", name="Sign in to Meterline billing")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "session-ended")
