"""``/api/billing/payment-methods`` against stripe-mock: a SetupIntent (the account's Customer made once), the list
with the default marked, set the default, remove; and attackers: another organization's owner, a viewer
writing, a member reading, a method id that is not among the account's own, a session without CSRF."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.store import subscription_store

pytestmark = pytest.mark.integration

PM = "/api/billing/payment-methods"


async def test_setup_list_default_remove(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga", members={"vic": "viewer"})
        owner = api.as_user("olga", org)
        assert (await api.client.get(PM, params={"account": org}, headers=owner)).json()["payment_methods"] == []
        r = await api.client.post(f"{PM}/setup-intent", json={"account": org}, headers=owner)
        assert r.status_code == 201, r.text
        assert r.json()["setup_intent_id"].startswith("seti_") and "_secret_" in r.json()["client_secret"]
        with api.ctx.sessions() as s:
            customer = subscription_store.account_stripe_customer(s, org)
        assert customer is not None
        await api.client.post(f"{PM}/setup-intent", json={"account": org}, headers=owner)
        with api.ctx.sessions() as s:
            assert subscription_store.account_stripe_customer(s, org) == customer  # one Customer per account
        listed = (await api.client.get(PM, params={"account": org}, headers=api.as_user("vic", org))).json()
        method = listed["payment_methods"][0]
        assert method["id"].startswith("pm_") and method["type"] == "card" and method["last4"]
        r = await api.client.post(f"{PM}/{method['id']}/default", json={"account": org}, headers=owner)
        assert r.status_code == 200, r.text
        assert [m["is_default"] for m in r.json()["payment_methods"] if m["id"] == method["id"]] == [True]
        r = await api.client.delete(f"{PM}/{method['id']}", params={"account": org}, headers=owner)
        assert r.status_code == 204


async def test_payment_method_attackers(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga", members={"vic": "viewer", "max": "member"})
        other = await api.org("mallory", name="Other")
        owner = api.as_user("olga", org)
        await api.client.post(f"{PM}/setup-intent", json={"account": org}, headers=owner)
        method = (await api.client.get(PM, params={"account": org}, headers=owner)).json()["payment_methods"][0]["id"]
        thief = api.as_user("mallory", other)
        assert (await api.client.get(PM, params={"account": org}, headers=thief)).status_code == 404
        r = await api.client.post(f"{PM}/setup-intent", json={"account": org}, headers=thief)
        assert r.status_code == 404
        r = await api.client.post(f"{PM}/{method}/default", json={"account": org}, headers=thief)
        assert r.status_code == 404
        # mallory's own account with olga's method id (a stolen id): not hers, so nothing happens.
        await api.client.post(f"{PM}/setup-intent", json={"account": other}, headers=thief)
        r = await api.client.post(f"{PM}/pm_stolen0000000000/default", json={"account": other}, headers=thief)
        assert r.status_code == 404
        r = await api.client.delete(f"{PM}/pm_stolen0000000000", params={"account": other}, headers=thief)
        assert r.status_code == 404
        viewer = api.as_user("vic", org)
        r = await api.client.post(f"{PM}/{method}/default", json={"account": org}, headers=viewer)
        assert r.status_code == 403
        assert (await api.client.delete(f"{PM}/{method}", params={"account": org}, headers=viewer)).status_code == 403
        assert (await api.client.get(PM, params={"account": org}, headers=api.as_user("max", org))).status_code == 403
        await api.sign_in("olga", org)
        r = await api.client.post(f"{PM}/setup-intent", json={"account": org})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
