"""Payment methods in a real browser: the list, and card entry that says plainly when Stripe.js cannot load."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import PHONE, ServedApi, axe_violations, open_app, page_width, screenshot

pytestmark = pytest.mark.integration


def test_card_entry_says_it_is_unavailable_without_stripe_js(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Cardless Co", "cara")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201

    page = open_app(browser, api, org, "cara")
    # As on a machine without network: js.stripe.com does not answer.
    page.context.route("https://js.stripe.com/**", lambda route: route.abort())
    page.goto(f"{api.base}/app/payment-methods")
    listed = api.call(org, "GET", f"/api/billing/payment-methods?account={org.id}").json()["payment_methods"]
    if listed:  # stripe-mock answers every list with its one fixture card
        expect(page.get_by_role("row", name=f"ending {listed[0]['last4']}")).to_be_visible(timeout=20_000)
    else:
        expect(page.get_by_text("No payment method on file yet.")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Add a card").click()
    expect(page.get_by_role("alert")).to_contain_text("Card entry is unavailable", timeout=20_000)
    assert axe_violations(page) == []
    screenshot(page, "payment-methods-unavailable")

    phone = open_app(browser, api, org, "cara", viewport=PHONE)
    phone.goto(f"{api.base}/app/payment-methods")
    expect(phone.get_by_role("heading", name="Payment methods")).to_be_visible(timeout=20_000)
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at 375 px"
    assert axe_violations(phone) == []
