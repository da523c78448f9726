"""Payment methods in a real browser: the list, card entry through a fake Stripe.js against stripe-mock, set default;
and card entry that says plainly when Stripe.js cannot load."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from streams.settings import Settings
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
    assert page_width(phone) <= PHONE["width"], "the page scrolls sideways at phone width"
    assert axe_violations(phone) == []


FAKE_STRIPE = Path(__file__).with_name("fake_stripe.js")


def _route_stripe(page: Page, stripe_mock: str) -> list[str]:
    """Stripe.js from tests/browser/fake_stripe.js, its api.stripe.com calls to stripe-mock; returns the paths."""
    called: list[str] = []

    def to_mock(route: Route) -> None:
        url = urlsplit(route.request.url)
        called.append(url.path)
        form = parse_qs(route.request.post_data or "")
        form.pop("key", None)  # Stripe takes the publishable key in the body; stripe-mock wants a secret key header
        body = "&".join(f"{k}={v[0]}" for k, v in form.items())
        response = route.fetch(
            url=f"{stripe_mock}{url.path}",
            headers={"Authorization": "Bearer sk_test_123", "Content-Type": "application/x-www-form-urlencoded"},
            post_data=body,
        )
        route.fulfill(response=response, headers={**response.headers, "access-control-allow-origin": "*"})

    page.context.route(
        "https://js.stripe.com/**", lambda r: r.fulfill(path=str(FAKE_STRIPE), content_type="text/javascript")
    )
    page.context.route("https://api.stripe.com/**", to_mock)
    return called


def test_a_card_is_added_through_stripe_js_and_set_default(
    browser: Browser, api: ServedApi, stack_settings: Settings
) -> None:
    org = api.bootstrap("Card Co", "carl")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201

    page = open_app(browser, api, org, "carl")
    called = _route_stripe(page, stack_settings.resolved_stripe_api_base)
    page.goto(f"{api.base}/app/payment-methods")
    page.get_by_role("button", name="Add a card").click()
    expect(page.get_by_label("Card number")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Save the card").click()
    expect(page.get_by_role("status")).to_contain_text("The card is saved.", timeout=20_000)
    assert any(p.startswith("/v1/setup_intents/") and p.endswith("/confirm") for p in called)
    assert axe_violations(page) == []
    screenshot(page, "payment-methods-added")

    make_default = page.get_by_role("button", name="Make default:").first
    method = (make_default.get_attribute("aria-label") or "").removeprefix("Make default: ")
    with page.expect_response(lambda r: r.url.endswith("/default") and r.request.method == "POST") as answer:
        make_default.click()
    assert answer.value.status == 200, answer.value.text()
    methods = answer.value.json()["payment_methods"]  # the account's list as the API sees it after the change
    assert [f"{m['brand'] or m['type']} ending {m['last4']}" for m in methods if m["is_default"]] == [method]
    expect(page.get_by_role("alert")).to_have_count(0)
