"""White-label (issue 17): an organization given the white-label add-on by an operator sets its name, colour and
logo on /app/admin; the app's header shows them at once (the logo served by the API), its invoice PDFs carry the
name; an organization without the add-on keeps the defaults; axe-core clean."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, expect

from tests.support.api import JWT_SECRET
from tests.support.browser import ServedApi, axe_violations, open_app, screenshot

pytestmark = pytest.mark.integration
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def test_white_label_name_colour_and_logo_in_the_app(browser: Browser, api: ServedApi, tmp_path: Path) -> None:
    org = api.bootstrap("Acme", "olga")
    plain = api.bootstrap("Plain Co", "pat")
    r = api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "enterprise"})
    assert r.status_code == 201, r.text
    operator = jwt.encode(
        {"sub": "ops-1", "meterline_operator": True, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256"
    )
    r = httpx.post(
        f"{api.base}/api/billing/subscriptions/{r.json()['id']}/addons",
        json={"name": "white_label_setup"},
        headers={"authorization": f"Bearer {operator}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text

    page = open_app(browser, api, org, "olga")
    page.goto(f"{api.base}/app/admin")
    section = page.get_by_role("region", name="White-label")
    section.get_by_label("Name shown").fill("Acme Learning")
    section.get_by_label("Main colour").fill("#7a1f00")
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    section.get_by_label("Logo (PNG or JPEG)").set_input_files(str(logo))
    section.get_by_label("Email sender name").fill("Acme Billing")
    section.get_by_label("Reply-to address").fill("finance@acme.example")
    section.get_by_role("button", name="Save branding").click()
    expect(section.get_by_role("status")).to_contain_text("now show Acme Learning", timeout=20_000)
    header = page.get_by_role("banner")
    expect(header).to_contain_text("Acme Learning")
    logo_url = f"/api/billing/organizations/{org.id}/branding/logo"
    expect(header.locator("img.brand-logo")).to_have_attribute("src", logo_url)
    assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()") == "#7a1f00"
    assert page.request.get(f"{api.base}{logo_url}").body() == PNG
    expect(page.get_by_role("region", name="Audit log entries")).to_contain_text("branding.changed")
    assert axe_violations(page) == []
    screenshot(page, "admin-white-label")

    # Without the add-on: the defaults, and the page says why.
    other = open_app(browser, api, plain, "pat")
    other.goto(f"{api.base}/app/admin")
    expect(other.get_by_role("banner")).to_contain_text("Meterline billing")
    expect(other.get_by_role("region", name="White-label")).to_contain_text("white-label add-on")
