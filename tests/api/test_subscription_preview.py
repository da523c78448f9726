"""``POST /api/billing/subscriptions/{id}/preview`` on the real app, store and chDB: an upgrade's proration now and
the next invoice from the settlement's own drafts, a downgrade that waits for the period end, the lifecycle's own
refusals, nothing written; and attackers (a viewer, another organization's owner, a session without CSRF)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.store import subscription_store
from tests.support.api import Api

pytestmark = pytest.mark.integration

SUBS = "/api/billing/subscriptions"


async def _subscribed(api: Api, tier: str) -> tuple[str, str]:
    org = await api.org("olga", members={"vic": "viewer"})
    await api.subscribe(org, "olga", tier)
    r = await api.client.get(f"/api/billing/organizations/{org}/subscriptions", headers=api.as_user("olga", org))
    return org, r.json()["subscriptions"][0]["id"]


def _versions(api: Api, account: str) -> int:
    with api.ctx.sessions() as s:
        return len(subscription_store.versions(s, account))


async def test_upgrade_and_downgrade_previews(make_api: Callable[..., Any]) -> None:
    async with make_api(now=datetime(2026, 11, 16, 12, tzinfo=UTC)) as api:
        org, sub = await _subscribed(api, "free")
        owner = api.as_user("olga", org)
        written = _versions(api, org)
        r = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "change", "tier": "standard"}, headers=owner)
        assert r.status_code == 200, r.text
        up = r.json()
        assert up["change"] == "upgrade" and up["effective_from"].startswith("2026-11-16T12:00:00")
        assert up["currency"] == "usd" and up["current_period"]["key"] == "2026-11"
        # Subscribed on the 15th (anchor): the period is Nov 15 - Dec 15 (30 days), 28.5 of them left at the
        # upgrade, so standard's 49.99 x 28.5 / 30, on top of what free costs (nothing).
        assert Decimal(up["current_invoice_total"]) == 0
        assert Decimal(up["proration"]) == Decimal("47.49")
        assert Decimal(up["preview_invoice_total"]) == Decimal(up["proration"])
        assert up["next_period"]["key"] == "2026-12" and Decimal(up["next_invoice_total"]) == Decimal("49.99")
        assert _versions(api, org) == written  # a preview writes nothing
        # Applied, then previewed back down: waits for the period end, charges nothing now.
        applied = await api.client.put(f"{SUBS}/{sub}", json={"tier": "standard"}, headers=owner)
        assert applied.status_code == 200
        r = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "change", "tier": "free"}, headers=owner)
        down = r.json()
        assert down["change"] == "downgrade" and down["effective_from"].startswith("2026-12-15")
        assert Decimal(down["proration"]) == 0 and Decimal(down["next_invoice_total"]) == 0
        cancel = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "cancel"}, headers=owner)
        assert cancel.json()["change"] == "cancel_at_period_end" and Decimal(cancel.json()["next_invoice_total"]) == 0
        # The lifecycle's refusals, as the real endpoints give them.
        r = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "change", "tier": "standard"}, headers=owner)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_change"
        r = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "reactivate"}, headers=owner)
        assert r.status_code == 409
        r = await api.client.post(f"{SUBS}/{sub}/preview", json={"action": "cancel", "tier": "free"}, headers=owner)
        assert r.status_code == 422


async def test_preview_attackers(make_api: Callable[..., Any]) -> None:
    async with make_api(now=datetime(2026, 11, 16, 12, tzinfo=UTC)) as api:
        org, sub = await _subscribed(api, "free")
        other = await api.org("mallory", name="Other")
        body = {"action": "change", "tier": "standard"}
        r = await api.client.post(f"{SUBS}/{sub}/preview", json=body, headers=api.as_user("mallory", other))
        assert r.status_code == 404  # another organization's owner, holding the id
        r = await api.client.post(f"{SUBS}/{sub}/preview", json=body, headers=api.as_user("vic", org))
        assert r.status_code == 403  # a viewer may not change the plan, so may not preview it
        await api.sign_in("olga", org)
        r = await api.client.post(f"{SUBS}/{sub}/preview", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


async def test_account_subscriptions(make_api: Callable[..., Any]) -> None:
    async with make_api(now=datetime(2026, 11, 16, 12, tzinfo=UTC)) as api:
        org, sub = await _subscribed(api, "standard")
        r = await api.client.get(SUBS, params={"account": org}, headers=api.as_user("vic", org))
        assert r.status_code == 200 and [x["id"] for x in r.json()["subscriptions"]] == [sub]
        # A person's own account, by their own session; nobody else's.
        await api.client.post(
            f"{SUBS}/create",
            json={"tier": "free", "organization_id": org, "account_kind": "user"},
            headers=api.as_user("vic"),
        )
        assert (
            len(
                (await api.client.get(SUBS, params={"account": "vic"}, headers=api.as_user("vic"))).json()[
                    "subscriptions"
                ]
            )
            == 1
        )
        assert (await api.client.get(SUBS, params={"account": "vic"}, headers=api.as_user("olga"))).status_code == 404
        assert (
            await api.client.get(SUBS, params={"account": "vic"}, headers=api.as_user("olga", org))
        ).status_code == 404
        other = await api.org("mallory", name="Other")
        r = await api.client.get(SUBS, params={"account": org}, headers=api.as_user("mallory", other))
        assert r.status_code == 404
        await api.join(org, "max", "member", api.as_user("olga", org))
        assert (await api.client.get(SUBS, params={"account": org}, headers=api.as_user("max", org))).status_code == 403
