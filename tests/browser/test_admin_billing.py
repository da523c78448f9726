"""Billing management on /app/admin (issue 17): an enterprise organization's contract (set by an operator), its
add-on and prepaid credit, the upcoming invoice and the billing details, which its admin edits on the page (the API
stores them); a viewer reads without editing and without the contract; a member is shown no billing; another
organization's admin is refused the contract, credits and invoices by the API; axe-core clean."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.api import JWT_SECRET
from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot

pytestmark = pytest.mark.integration


def _operator(api: ServedApi, method: str, path: str, body: dict[str, object]) -> httpx.Response:
    token = jwt.encode({"sub": "ops-1", "meterline_operator": True, "exp": int(time.time()) + 600}, JWT_SECRET)
    return httpx.request(
        method, f"{api.base}{path}", json=body, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def test_admin_sees_the_contract_and_edits_billing_details(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Billing Co", "olga")
    rival = api.bootstrap("Rival Co", "rex")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "enterprise"})
    assert r.status_code == 201, r.text
    sub = r.json()["id"]
    contract = {
        "commitment": {"amount": "12000.00", "per": "contract_year"},
        "seat_basis": "provisioned",
        "minimum_seats": 5,
        "term": {"starts_on": "2026-01-01", "ends_on": "2026-12-31", "renewal": "auto_renew", "renewal_months": 12},
    }
    r = _operator(api, "PUT", f"/api/billing/subscriptions/{sub}/contract", {"contract": contract})
    assert r.status_code == 200, r.text
    r = _operator(api, "POST", f"/api/billing/subscriptions/{sub}/addons", {"name": "white_label_setup"})
    assert r.status_code == 201, r.text
    r = _operator(
        api, "POST", f"/api/billing/subscriptions/{sub}/credit-grants", {"name": "Launch credit", "amount": "250.00"}
    )
    assert r.status_code == 201, r.text
    join(api, org, "vera")
    join(api, org, "max")
    r = api.call(org, "PUT", f"/api/billing/organizations/{org.id}/members/vera", {"role": "viewer"})
    assert r.status_code == 200, r.text

    page = open_app(browser, api, org, "olga")
    page.goto(f"{api.base}/app/admin")
    billing = page.get_by_role("region", name="Billing", exact=True)
    expect(billing).to_contain_text("$12,000.00 per contract year", timeout=20_000)
    expect(billing).to_contain_text("the most members at once")
    expect(billing).to_contain_text("renews for 12 months at a time")
    expect(billing.get_by_role("region", name="Add-ons")).to_contain_text("white_label_setup")
    expect(billing).to_contain_text("Credit balance: $250.00")
    expect(billing).to_contain_text("Outstanding balance")
    expect(billing).to_contain_text("No invoices yet.")
    expect(billing.get_by_role("link", name="Manage payment methods")).to_be_visible()

    form = billing.get_by_role("form", name="Billing details")
    form.get_by_label("Billing email").fill("ap@billing.example")
    form.get_by_label("Tax id").fill("DE123456789")
    form.get_by_label("Address line 1").fill("1 Main Street")
    form.get_by_label("City").fill("Berlin")
    form.get_by_label("Country (2 letters)").fill("DE")
    form.get_by_role("button", name="Save billing details").click()
    expect(form.get_by_role("status")).to_contain_text("Billing details saved.", timeout=20_000)
    stored = api.call(org, "GET", f"/api/billing/organizations/{org.id}").json()
    assert stored["tax_id"] == "DE123456789"
    assert stored["billing_address"]["city"] == "Berlin"
    assert axe_violations(page) == []
    billing.scroll_into_view_if_needed()
    screenshot(page, "admin-billing")

    # A viewer: the invoices and details, no form, no contract (the API keeps contracts to owners and admins).
    viewer = open_app(browser, api, org, "vera")
    viewer.goto(f"{api.base}/app/admin")
    vb = viewer.get_by_role("region", name="Billing", exact=True)
    expect(vb).to_contain_text("DE123456789", timeout=20_000)
    expect(vb).to_contain_text("shown to owners and admins")
    expect(vb.get_by_role("button", name="Save billing details")).to_have_count(0)
    assert viewer.request.get(f"{api.base}/api/billing/subscriptions/{sub}/contract").status == 403
    # Nothing offered that the API would refuse a viewer: roles read as words, no invite form, no budget or
    # AI controls to save, and no refusal in their place.
    expect(viewer.get_by_text("Your role (viewer) reads everything here")).to_be_visible()
    expect(viewer.get_by_role("region", name="Members").get_by_role("row", name="max")).to_contain_text("member")
    expect(viewer.get_by_label("Role of max")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Invite")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Save budget")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Save AI controls")).to_have_count(0)
    expect(viewer.get_by_role("checkbox", name="Members need approval for AI features and models")).to_be_disabled()
    expect(viewer.get_by_text("Not available to your role")).to_have_count(0)
    assert axe_violations(viewer) == []
    screenshot(viewer, "admin-billing-viewer")

    # A member: no billing on the page, and the API refuses the reads too.
    member = open_app(browser, api, org, "max")
    member.goto(f"{api.base}/app/admin")
    expect(member.get_by_text("The admin panel is for the organization's owners, admins and viewers")).to_be_visible(
        timeout=20_000
    )
    expect(member.get_by_role("region", name="Billing", exact=True)).to_have_count(0)
    expect(member.get_by_text("DE123456789")).to_have_count(0)
    assert member.request.get(f"{api.base}/api/billing/invoices?account={org.id}").status == 403
    assert member.request.get(f"{api.base}/api/billing/subscriptions/{sub}/credit-grants").status == 403

    # Another organization's admin, with a stolen subscription id: refused.
    rex = open_app(browser, api, rival, "rex")
    rex.goto(f"{api.base}/app/admin")
    expect(rex.get_by_role("region", name="Billing", exact=True)).not_to_contain_text("12,000", timeout=10_000)
    for path in (
        f"/api/billing/subscriptions/{sub}/contract",
        f"/api/billing/subscriptions/{sub}/credit-grants",
        f"/api/billing/subscriptions/{sub}/addons",
        f"/api/billing/invoices?account={org.id}",
        f"/api/billing/payments?account={org.id}",
        f"/api/billing/organizations/{org.id}",
    ):
        assert rex.request.get(f"{api.base}{path}").status in (403, 404), path
    stolen = rex.request.patch(
        f"{api.base}/api/billing/organizations/{org.id}",
        data={"tax_id": "STOLEN"},
        headers={"X-CSRF-Token": _csrf(rex)},
    )
    assert stolen.status in (403, 404)
    assert api.call(org, "GET", f"/api/billing/organizations/{org.id}").json()["tax_id"] == "DE123456789"


def _csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "meterline_csrf")
