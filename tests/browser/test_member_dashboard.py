"""A member's billing app (issues 16/17): a person who joined an organization through an invitation opens /app/
and sees their own usage this period (not the organization's, which the API refuses them), who sees the rest,
and their AI access card; the other pages say plainly what a member may not see. No error, no dead "Try again";
no serious or critical axe-core violation."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.support.browser import PHONE, ServedApi, axe_violations, join, open_app, page_width, screenshot

pytestmark = pytest.mark.integration


def test_a_member_sees_their_own_usage_and_plain_refusals(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Member Co", "pat")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    join(api, org, "sam")
    # The organization approves AI use, so the member's dashboard shows their AI access card.
    r = api.call(org, "PUT", f"/api/billing/organizations/{org.id}/ai-controls", {"approval_required": True})
    assert r.status_code == 200, r.text

    page = open_app(browser, api, org, "sam")
    page.goto(f"{api.base}/app/")
    expect(page.get_by_role("heading", name="Your usage", exact=True)).to_be_visible(timeout=20_000)
    expect(page.get_by_text("totals, plan and invoices are for its owners, admins and viewers")).to_be_visible()
    table = page.get_by_role("region", name="Your usage per metric")
    expect(table.get_by_role("row", name="API calls")).to_be_visible(timeout=20_000)
    expect(table.get_by_role("row", name="Active users")).to_have_count(0)  # seats are the organization's
    expect(page.get_by_role("heading", name="Daily usage")).to_be_visible()
    expect(page.get_by_role("region", name="AI access")).to_be_visible()
    # Nothing of the organization's and no error.
    expect(page.get_by_role("region", name="Subscription")).to_have_count(0)
    expect(page.get_by_role("region", name="Next invoice")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "member-dashboard")

    # The pages of the navigation: each says what a member may not see, with no "Try again".
    for link, heading in (("Invoices", "Invoices"), ("Payment methods", "Payment methods")):
        page.get_by_role("navigation").get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_text("Not available to your role:")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("for its owners, admins and viewers")).to_be_visible()
        expect(page.get_by_role("button", name="Try again")).to_have_count(0)
        assert axe_violations(page) == []
        screenshot(page, f"member-{link.lower().replace(' ', '-')}")
    page.get_by_role("navigation").get_by_role("link", name="Plan", exact=True).click()
    expect(page.get_by_role("heading", name="Your plan")).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "member-plan")
    page.get_by_role("navigation").get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    expect(page.get_by_text("The admin panel is for the organization's owners, admins and viewers")).to_be_visible()
    expect(page.get_by_role("heading", name="People")).to_have_count(0)
    expect(page.get_by_role("region", name="Billing", exact=True)).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "member-admin")

    phone = open_app(browser, api, org, "sam", viewport=PHONE)
    phone.goto(f"{api.base}/app/")
    expect(phone.get_by_role("heading", name="Your usage", exact=True)).to_be_visible(timeout=20_000)
    expect(phone.get_by_role("region", name="Your usage per metric")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []
    screenshot(phone, "member-dashboard-phone")


def _unavailable(route: Route) -> None:
    """The API answering 503 with its error body, as it does when a store it reads is down."""
    body = {"error": {"code": "unavailable", "message": "The billing API cannot reach its store now."}}
    route.fulfill(status=503, content_type="application/json", body=json.dumps(body))


def _loading_then_failing(page: Page, url: str, call: str, loading: str, name: str) -> Locator:
    """``url`` while the API call ``call`` (a glob) is held back, then when it answers 503; both screenshot as
    ``name``-loading and ``name``-error. Returns the error, whose "Try again" works once the call goes through."""
    held: list[Route] = []
    page.route(call, lambda route: held.append(route))
    page.goto(url)
    for _ in range(200):  # until the call is made (route handlers run while Playwright waits, not in a sleep)
        if held:
            break
        page.wait_for_timeout(100)
    assert held, f"{call} was not held"
    expect(page.get_by_role("status").filter(has_text=loading)).to_be_visible(timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, f"{name}-loading")
    page.unroute(call)
    page.route(call, _unavailable)
    page.goto(url)
    failed = page.get_by_role("alert").filter(has_text="The billing API cannot reach its store now.")
    expect(failed).to_be_visible(timeout=30_000)  # after the client's retries of a 5xx
    assert axe_violations(page) == []
    screenshot(page, f"{name}-error")
    page.unroute(call)
    return failed


def test_the_member_dashboard_and_the_admin_page_say_they_are_loading_and_when_they_fail(
    browser: Browser, api: ServedApi
) -> None:
    org = api.bootstrap("States Co", "pat")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    join(api, org, "sam")

    # The member's dashboard while their usage is on its way, then when it fails; "Try again" recovers.
    page = open_app(browser, api, org, "sam")
    failed = _loading_then_failing(
        page, f"{api.base}/app/", "**/api/billing/usage/share?**", "Loading your usage", "member-dashboard"
    )
    failed.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("region", name="Your usage per metric")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("alert")).to_have_count(0)

    # The admin page (its owner) while the caller's role is on its way, then when the organization cannot be read:
    # one error, not every section's.
    owner = open_app(browser, api, org, "pat")
    organization = f"**/api/billing/organizations/{org.id}"
    failed = _loading_then_failing(owner, f"{api.base}/app/admin", organization, "Loading your organization", "admin")
    expect(owner.get_by_role("heading", name="People")).to_have_count(0)
    failed.get_by_role("button", name="Try again").click()
    expect(owner.get_by_role("heading", name="People")).to_be_visible(timeout=20_000)
