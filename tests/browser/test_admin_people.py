"""The admin panel's people (issue 17): an admin invites a person on /app/admin; nothing happens until that person,
in a second browser context with their own credentials, accepts; then they are a member and the log shows both
steps; an invitation left open can be revoked from the page; axe-core clean."""

from __future__ import annotations

import time

import jwt
import pytest
from playwright.sync_api import Browser, expect

from tests.support.api import JWT_SECRET
from tests.support.browser import ServedApi, axe_violations, open_app, screenshot

pytestmark = pytest.mark.integration


def test_invite_is_accepted_in_a_second_browser_context(browser: Browser, api: ServedApi) -> None:
    org = api.bootstrap("People Co", "pat")
    page = open_app(browser, api, org, "pat")
    page.goto(f"{api.base}/app/admin")
    people = page.get_by_role("region", name="Invitations", exact=True)
    for user in ("sam", "lee"):
        people.get_by_label("Platform user id").fill(user)
        people.get_by_label("Invite as").select_option("viewer")
        people.get_by_role("button", name="Invite", exact=True).click()
        expect(people.get_by_role("status")).to_contain_text(f"Invited {user} as viewer", timeout=20_000)
    invitations = people.get_by_role("region", name="Open invitations")
    expect(invitations).to_contain_text("sam")
    members = page.get_by_role("region", name="Members")
    expect(members).not_to_contain_text("sam")  # invited is not joined

    # sam, in a browser of their own, with their own sign-in: sees the invitation and accepts it.
    token = jwt.encode({"sub": "sam", "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
    sam = browser.new_context(extra_http_headers={"authorization": f"Bearer {token}"})
    try:
        mine = sam.request.get(f"{api.base}/api/billing/invitations").json()["invitations"]
        assert [(i["organization_name"], i["role"]) for i in mine] == [("People Co", "viewer")]
        accepted = sam.request.post(f"{api.base}/api/billing/invitations/{mine[0]['id']}/accept")
        assert accepted.status == 200 and accepted.json()["status"] == "accepted"
    finally:
        sam.close()

    page.reload()
    expect(page.get_by_role("region", name="Members")).to_contain_text("sam")
    people = page.get_by_role("region", name="Invitations", exact=True)
    people.get_by_role("button", name="Revoke the invitation of lee").click()
    expect(people.get_by_role("status")).to_contain_text("Revoked the invitation of lee", timeout=20_000)
    expect(people).to_contain_text("No open invitations.")
    log = page.get_by_role("region", name="Audit log entries")
    expect(log).to_contain_text("member.joined")
    expect(log).to_contain_text("member.invitation_revoked")
    assert axe_violations(page) == []
    screenshot(page, "admin-people")
