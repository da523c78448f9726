"""The admin panel's people (issue 17): an admin invites a person on /app/admin; nothing happens until that person,
in a second browser context signed in by their own login link, accepts on their invitations page; then they are a
member and the log shows both steps; an invitation left open can be revoked from the page; axe-core clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from streams.settings import Settings
from tests.support.browser import DESKTOP, ServedApi, axe_violations, open_app, screenshot, served_api

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

    # sam, in a browser of their own, signed in by a login link of their own (no organization): sees the
    # invitation on their invitations page, with what a viewer may do, and accepts it there.
    sam = browser.new_context(viewport=DESKTOP)
    try:
        inbox = sam.new_page()
        inbox.goto(api.server.login_link("sam"))
        inbox.get_by_role("button", name="Sign in").click()
        inbox.wait_for_url(f"{api.base}/app/")
        inbox.get_by_role("link", name="Invitations").click()
        card = inbox.get_by_role("listitem").filter(has=inbox.get_by_role("heading", name="People Co"))
        expect(card).to_contain_text("invites you as viewer")
        card.get_by_text("What a viewer may do").click()
        expect(card).to_contain_text("Read")
        assert axe_violations(inbox) == []
        screenshot(inbox, "invitation-inbox")
        card.get_by_role("button", name="Accept the invitation to People Co").click()
        expect(inbox.get_by_role("status")).to_contain_text("You joined People Co as viewer", timeout=20_000)
        expect(inbox.get_by_text("No invitations are waiting for you.")).to_be_visible()
        expect(inbox.get_by_role("listitem").filter(has_text="People Co (viewer): accepted")).to_be_visible()
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


def test_the_invitation_cap_tells_the_admin_what_to_do(
    browser: Browser, stack_settings: Settings, tmp_path: Path
) -> None:
    """Past METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION the form says why and what to do (revoke one,
    or wait), and nothing is added; revoking one makes room again."""
    with served_api(stack_settings, tmp_path, METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION="1") as api:
        org = api.bootstrap("Capped Co", "pat")
        page = open_app(browser, api, org, "pat")
        page.goto(f"{api.base}/app/admin")
        people = page.get_by_role("region", name="Invitations", exact=True)
        expect(people).to_contain_text("No open invitations.", timeout=20_000)

        def invite(user: str) -> None:
            people.get_by_label("Platform user id").fill(user)
            people.get_by_role("button", name="Invite", exact=True).click()

        invite("sam")
        expect(people.get_by_role("status")).to_contain_text("Invited sam", timeout=20_000)
        expect(people.get_by_role("status")).to_contain_text("if it was mistyped, revoke it")  # ids are not checked
        screenshot(page, "admin-invited")
        invite("lee")
        status = people.get_by_role("status")
        expect(status).to_contain_text("this organization has 1 pending invitations, the most allowed", timeout=20_000)
        expect(status).to_contain_text("revoke one")
        expect(people.get_by_role("region", name="Open invitations")).not_to_contain_text("lee")
        screenshot(page, "admin-invitations-cap")
        people.get_by_role("button", name="Revoke the invitation of sam").click()
        expect(status).to_contain_text("Revoked the invitation of sam", timeout=20_000)
        invite("lee")
        expect(status).to_contain_text("Invited lee", timeout=20_000)
        expect(people.get_by_role("region", name="Open invitations")).to_contain_text("lee")
