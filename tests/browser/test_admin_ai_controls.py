"""The admin panel's AI controls (issue 17): an admin switches a premium feature off for one member on /app/admin
and the entitlement answer for that member changes at once, while another member keeps it; axe-core clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot

pytestmark = pytest.mark.integration


def test_premium_feature_off_for_a_member_changes_the_entitlement(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("AI Co", "pat")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    for user in ("sam", "kim"):
        join(api, org, user)

    def answer(user: str) -> tuple[bool, str | None]:
        r = api.call(org, "GET", f"/api/billing/entitlements/{org.id}/deep_research?user_id={user}")
        assert r.status_code == 200, r.text
        return r.json()["allowed"], r.json()["reason"]

    assert answer("sam") == (True, None)
    page = open_app(browser, api, org, "pat")
    page.goto(f"{api.base}/app/admin")
    section = page.get_by_role("region", name="AI controls")
    section.get_by_label("Member").select_option("sam")
    section.get_by_role("checkbox", name="Deep research").check()
    section.get_by_role("button", name="Save AI controls").click()
    expect(section.get_by_role("status")).to_contain_text("Saved: Deep research off for sam", timeout=20_000)
    assert answer("sam") == (False, "disabled_by_admin")
    assert answer("kim") == (True, None)
    expect(page.get_by_role("region", name="Audit log entries")).to_contain_text("ai_controls.changed")
    assert axe_violations(page) == []
    screenshot(page, "admin-ai-controls")
