"""The admin panel (issue 17): an admin changes a member's role on /app/admin and finds the change, and the
invitation and acceptance before it, in the audit log on the same page; the CSV export holds them too; no
serious or critical axe-core violation."""

from __future__ import annotations

import csv
import io
import time

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, expect

from tests.support.api import JWT_SECRET
from tests.support.browser import PHONE, ServedApi, axe_violations, clipped_tables, open_app, phone_checked, screenshot

pytestmark = pytest.mark.integration


def _as(user: str) -> dict[str, str]:
    token = jwt.encode({"sub": user, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
    return {"authorization": f"Bearer {token}"}


def test_role_change_is_in_the_audit_log_and_its_export(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Admin Co", "pat")
    r = api.call(org, "POST", f"/api/billing/organizations/{org.id}/invitations", {"user_id": "sam", "role": "member"})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{api.base}/api/billing/invitations/{r.json()['id']}/accept", headers=_as("sam"), timeout=30)
    assert r.status_code == 200, r.text

    page = open_app(browser, api, org, "pat")
    page.goto(f"{api.base}/app/admin")
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    page.get_by_label("Role of sam").select_option("viewer")
    expect(page.get_by_role("status").filter(has_text="sam is now viewer")).to_be_visible(timeout=20_000)
    members = api.call(org, "GET", f"/api/billing/organizations/{org.id}/members").json()["members"]
    assert {m["user_id"]: m["role"] for m in members}["sam"] == "viewer"

    log = page.get_by_role("region", name="Audit log entries")
    # The change as the field it changed, compact (not the JSON documents).
    expect(log.get_by_role("row").filter(has_text="member.role_changed")).to_contain_text(
        "role: was member → now viewer"
    )
    expect(log).to_contain_text("member.joined")
    expect(log).to_contain_text("member.invited")
    # Long ids and timestamps break inside the log: every column is on the page at desktop width, none off the side.
    assert clipped_tables(page) == []
    assert axe_violations(page) == []
    screenshot(page, "admin-audit-log")

    # The admin panel on a phone: nothing scrolls the page sideways, no table hides columns.
    phone = open_app(browser, api, org, "pat", viewport=PHONE)
    phone.goto(f"{api.base}/app/admin")
    expect(phone.get_by_role("region", name="Audit log entries")).to_contain_text("member.role_changed", timeout=20_000)
    phone_checked(phone, "admin-phone")

    page.get_by_label("Show").select_option("member.")
    # The link the page offers, fetched as the page's context would (its session rides along).
    href = page.get_by_role("link", name="Export CSV").get_attribute("href")
    assert href is not None
    export = page.request.get(f"{api.base}{href}")
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    assert [row["action"] for row in rows] == ["member.role_changed", "member.joined", "member.invited"]
    assert rows[0]["after"] == '{"role":"viewer"}' and rows[1]["actor"] == "user:sam"
