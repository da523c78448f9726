"""A person's own subscription made by that person alone, in no organization (the web app's personal account has
no organization id to name): previewed first (``POST /subscriptions/preview``: the first invoice from the
settlement's own drafts), created with the person's own token or session, then changed, cancelled and reactivated
as an organization's; and the attackers: another person, an organization's admin key and owner, no credentials,
a session without its CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from streams.store import subscription_store
from streams.store.models import AuditEntry
from tests.support.api import Api

pytestmark = pytest.mark.integration

SUBS = "/api/billing/subscriptions"
NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)


def _versions(api: Api, account: str) -> int:
    with api.ctx.sessions() as s:
        return len(subscription_store.versions(s, account))


async def test_a_person_in_no_organization_previews_and_subscribes_to_standard(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        own = api.as_user("pia")
        r = await api.client.post(f"{SUBS}/preview", json={"tier": "standard", "account_kind": "user"}, headers=own)
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["change"] == "create" and first["effective_from"].startswith("2026-11-16T12:00:00")
        # Anchored today: the first period is Nov 16 - Dec 16 and starts at midnight, so its base fee is prorated
        # for the 29.5 of its 30 days left (49.99 x 29.5 / 30); the next invoice is the whole fee.
        assert first["current_period"]["start"].startswith("2026-11-16")
        assert Decimal(first["current_invoice_total"]) == 0
        assert Decimal(first["proration"]) == Decimal("49.16") == Decimal(first["preview_invoice_total"])
        lines = first["preview_invoice"]["lines"]
        assert [ln["code"] for ln in lines] == ["base_fee_proration"], lines
        assert first["next_period"]["start"].startswith("2026-12-16") and Decimal(first["next_invoice_total"]) == (
            Decimal("49.99")
        )
        assert _versions(api, "pia") == 0  # a preview writes nothing

        r = await api.client.post(f"{SUBS}/create", json={"tier": "standard", "account_kind": "user"}, headers=own)
        assert r.status_code == 201, r.text
        sub = r.json()
        assert (sub["account_id"], sub["account_kind"], sub["organization_id"]) == ("pia", "user", None)
        assert (sub["tier"], sub["status"]) == ("standard", "active")
        listed = await api.client.get(SUBS, params={"account": "pia"}, headers=own)
        assert [s["id"] for s in listed.json()["subscriptions"]] == [sub["id"]]
        r = await api.client.post(f"{SUBS}/preview", json={"tier": "standard", "account_kind": "user"}, headers=own)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "subscription_exists")

        # Back to Free at the period's end, undone; then cancelled at the period's end and reactivated.
        down = await api.client.post(
            f"{SUBS}/{sub['id']}/preview", json={"action": "change", "tier": "free"}, headers=own
        )
        assert down.json()["change"] == "downgrade" and down.json()["effective_from"].startswith("2026-12-16")
        r = await api.client.put(f"{SUBS}/{sub['id']}", json={"tier": "free"}, headers=own)
        assert r.status_code == 200 and r.json()["pending_change"]["tier"] == "free", r.text
        r = await api.client.put(f"{SUBS}/{sub['id']}", json={"tier": "standard"}, headers=own)
        assert r.status_code == 200 and r.json()["pending_change"] is None, r.text
        r = await api.client.post(f"{SUBS}/{sub['id']}/cancel", json={"immediately": False}, headers=own)
        assert r.status_code == 200 and r.json()["cancel_at"].startswith("2026-12-16"), r.text
        r = await api.client.post(f"{SUBS}/{sub['id']}/reactivate", headers=own)
        assert r.status_code == 200 and r.json()["cancel_at"] is None, r.text
        # No organization's audit log holds a person's own plan.
        with api.ctx.sessions() as s:
            assert s.scalars(select(AuditEntry).where(AuditEntry.target == sub["id"])).all() == []


async def test_the_web_session_of_a_person_subscribes_with_its_csrf_token(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        csrf = await api.sign_in("pia")
        body = {"tier": "standard", "account_kind": "user"}
        for path in (f"{SUBS}/preview", f"{SUBS}/create"):
            r = await api.client.post(path, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "csrf_failed"), r.text
        assert _versions(api, "pia") == 0
        r = await api.client.post(f"{SUBS}/preview", json=body, headers={"x-csrf-token": csrf})
        assert r.status_code == 200, r.text
        r = await api.client.post(f"{SUBS}/create", json=body, headers={"x-csrf-token": csrf})
        assert r.status_code == 201 and r.json()["account_id"] == "pia", r.text


async def test_nobody_else_makes_or_changes_a_persons_own_subscription(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"pia": "member"})
        admin_key = await api.key(org, "olga", "admin")
        for_pia = {"tier": "standard", "account_kind": "user", "account_id": "pia"}
        attackers = {
            "another person": api.as_user("mallory"),
            "the organization's owner": api.as_user("olga", org),
            "the organization's admin key": admin_key,
            "the person's token acting in the organization": api.as_user("pia", org),
        }
        for who, headers in attackers.items():
            for path in (f"{SUBS}/preview", f"{SUBS}/create"):
                r = await api.client.post(path, json=for_pia, headers=headers)
                assert r.status_code == 403, (who, path, r.text)
        for path in (f"{SUBS}/preview", f"{SUBS}/create"):
            r = await api.client.post(path, json=for_pia)
            assert r.status_code == 401, (path, r.text)
        assert _versions(api, "pia") == 0

        r = await api.client.post(
            f"{SUBS}/create", json={"tier": "standard", "account_kind": "user"}, headers=api.as_user("pia")
        )
        sub = r.json()["id"]
        for who, headers in attackers.items():
            calls = [
                ("GET", f"{SUBS}/{sub}", None),
                ("PUT", f"{SUBS}/{sub}", {"tier": "free"}),
                ("POST", f"{SUBS}/{sub}/cancel", {"immediately": True}),
                ("POST", f"{SUBS}/{sub}/preview", {"action": "cancel"}),
                ("DELETE", f"{SUBS}/{sub}", None),
            ]
            for method, path, body in calls:
                r = await api.client.request(method, path, json=body, headers=headers)
                assert r.status_code == 404, (who, method, path, r.text)
                assert "pia" not in r.text and "standard" not in r.text
        r = await api.client.get(SUBS, params={"account": "pia"}, headers=api.as_user("pia"))
        got = r.json()["subscriptions"][0]
        unchanged = ("standard", "active", None, None)
        assert (got["tier"], got["status"], got["cancel_at"], got["pending_change"]) == unchanged


async def test_an_organizations_viewer_and_member_neither_preview_nor_make_its_subscription(
    make_api: Callable[..., Any],
) -> None:
    """The preview answers only who may subscribe the organization (its owners and admins), as ``/create`` does."""
    async with make_api(now=NOW) as api:
        a = await api.org("ann", name="A", members={"adam": "admin", "viv": "viewer", "mo": "member"})
        body = {"tier": "standard", "organization_id": a}
        for user in ("viv", "mo"):
            for route in ("preview", "create"):
                r = await api.client.post(f"{SUBS}/{route}", json=body, headers=api.as_user(user, a))
                assert r.status_code == 403, (user, route, r.text)
        r = await api.client.post(f"{SUBS}/preview", json=body, headers=api.as_user("adam", a))
        assert r.status_code == 200, r.text  # an admin may
