"""The approval workflow on the pages (issue 17): an owner makes AI use need approval on /app/admin; a member's AI
use is refused with ``approval_required``; the member asks for a model on their dashboard; the owner sees the
request in the admin panel's AI section, approves it with a note, and the member's entitlement for that model (not
another) is allowed at once; the member's page shows the decision and its note; each step is in the audit log;
axe-core clean on both pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot

pytestmark = pytest.mark.integration


def test_a_member_asks_an_owner_approves_and_the_entitlement_follows(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("Approve Co", "pat")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    join(api, org, "sam")

    def answer(**params: str) -> tuple[bool, str | None]:
        query = "&".join(f"{k}={v}" for k, v in {"user_id": "sam", **params}.items())
        r = api.call(org, "GET", f"/api/billing/entitlements/{org.id}/ai_requests?{query}")
        assert r.status_code == 200, r.text
        return r.json()["allowed"], r.json()["reason"]

    assert answer(provider="openai", model="gpt-4o") == (True, None)
    admin = open_app(browser, api, org, "pat")
    admin.goto(f"{api.base}/app/admin")
    approvals = admin.get_by_role("region", name="AI access approvals")
    approvals.get_by_role("checkbox", name="Members need approval for AI features and models").check()
    expect(approvals.get_by_role("status")).to_have_text("AI use now needs approval.", timeout=20_000)
    assert answer(provider="openai", model="gpt-4o") == (False, "approval_required")
    expect(approvals).to_contain_text("No requests are waiting.")

    member = open_app(browser, api, org, "sam")  # on the dashboard
    access = member.get_by_role("region", name="AI access", exact=True)
    expect(access).to_contain_text("Your organization approves AI use", timeout=20_000)
    access.get_by_label("Ask for").select_option(label="openai/gpt-4o")
    access.get_by_label("Why (optional)").fill("code review")
    access.get_by_role("button", name="Request access").click()
    expect(access.get_by_role("status")).to_contain_text("Requested: openai/gpt-4o", timeout=20_000)
    mine = access.get_by_role("row", name="openai/gpt-4o")
    expect(mine).to_contain_text("Waiting for an admin")
    assert axe_violations(member) == []

    # The owner's page shows the request without a reload (polled), and approves it with a note.
    pending = approvals.get_by_role("region", name="Pending AI access requests").get_by_role("row", name="sam")
    expect(pending).to_contain_text("code review", timeout=30_000)
    pending.get_by_label("Note to sam").fill("for the review sprint")
    pending.get_by_role("button", name="Approve openai/gpt-4o for sam").click()
    expect(approvals.get_by_role("status")).to_have_text("Approved: openai/gpt-4o for sam.", timeout=20_000)
    assert answer(provider="openai", model="gpt-4o") == (True, None)
    assert answer(provider="openai", model="gpt-4o-mini") == (False, "approval_required")
    approved = approvals.get_by_role("region", name="Approved AI access")
    expect(approved.get_by_role("button", name="Revoke openai/gpt-4o for sam")).to_be_visible()

    audit = admin.get_by_role("region", name="Audit log entries")
    expect(audit).to_contain_text("ai_access.approved", timeout=20_000)
    expect(audit).to_contain_text("ai_access.requested")
    assert axe_violations(admin) == []
    approvals.scroll_into_view_if_needed()
    screenshot(admin, "admin-ai-access-approvals")

    # The member's page shows the decision and its note, without a reload.
    expect(mine).to_contain_text("Approved", timeout=30_000)
    expect(mine).to_contain_text("for the review sprint")
    access.scroll_into_view_if_needed()
    screenshot(member, "member-ai-access-request")
