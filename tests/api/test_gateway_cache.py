"""The gateway's check answers from memory (streams/api/store_cache.py), played as an attacker would: once a
credential, a membership or a subscription changes, the very next entitlement check of the same process
answers from the new state — a revoked key, a removed or demoted member, a key whose creator lost the role
are refused; an accepted invitation and a new subscription apply at once. A change made by another process
(another engine on the same store) is seen once the cache's bound has passed (its clock is moved, nothing
waits). Every check is made twice first, so the second answer comes from the cache, on the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update

from streams.store.db import make_engine, sessions
from streams.store.models import ApiKeyRow

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"


def _check(org: str, feature: str = "api_calls") -> str:
    return f"/api/billing/entitlements/{org}/{feature}"


async def _warm(api: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    """Two identical answers: the first reads the store (a worker thread), the second the cache (inline)."""
    hits = api.ctx.cache.hits
    first = await api.client.get(path, headers=headers)
    second = await api.client.get(path, headers=headers)
    assert first.status_code == second.status_code, (first.text, second.text)
    a, b = first.json(), second.json()
    if first.status_code == 200:  # the rate-limit budget may refill between the two
        a.pop("rate_limit")
        b.pop("rate_limit")
    assert a == b
    assert api.ctx.cache.hits > hits  # the second one was a hit
    return second


async def test_a_cached_check_runs_no_sql(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("ann", members={"mo": "member"})
        key = await api.key(org, "ann", "viewer")
        statements: list[str] = []
        event.listen(api.app.state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        checks = [(_check(org, f), h) for f in ("api_calls", "ai_twin") for h in (key, api.as_user("mo", org))]
        checks.append(("/api/billing/usage/current?account=" + org, api.as_user("ann", org)))
        for path, h in checks:
            assert (await api.client.get(path, headers=h)).status_code == 200
        assert statements  # the first of each read the store
        statements.clear()
        for path, h in checks * 3:
            assert (await api.client.get(path, headers=h)).status_code == 200
        assert statements == []


async def test_revoked_key_and_removed_member_are_refused_at_once(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("ann", members={"mo": "member", "ada": "admin"})
        owner = api.as_user("ann", org)
        key = await api.key(org, "ann", "member")
        ada_key = await api.key(org, "ada", "viewer")  # lives while ada is an owner or admin
        for h in (key, ada_key, api.as_user("mo", org), api.as_user("mo")):
            r = await _warm(api, _check(org), h)
            assert r.status_code == 200 and set(r.json()) >= {"allowed", "limit", "used", "remaining", "rate_limit"}

        listed = (await api.client.get(f"{ORGS}/{org}/api-keys", headers=owner)).json()["api_keys"]
        key_id = next(k["id"] for k in listed if k["name"] == "member key")
        assert (await api.client.delete(f"{ORGS}/{org}/api-keys/{key_id}", headers=owner)).status_code == 200
        r = await api.client.get(_check(org), headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")

        assert (await api.client.delete(f"{ORGS}/{org}/members/mo", headers=owner)).status_code == 204
        for h in (api.as_user("mo", org), api.as_user("mo")):  # its token in the org, and without org
            r = await api.client.get(_check(org), headers=h)
            assert r.status_code == 404, r.text

        r = await api.client.put(f"{ORGS}/{org}/members/ada", json={"role": "viewer"}, headers=owner)
        assert r.status_code == 200, r.text
        r = await api.client.get(_check(org), headers=ada_key)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")
        assert (await api.client.get(_check(org), headers=api.as_user("ada", org))).status_code == 200  # a viewer


async def test_accepted_invitation_and_new_subscription_apply_at_once(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("ann")
        owner = api.as_user("ann", org)
        ivy = api.as_user("ivy")
        assert (await _warm(api, _check(org), ivy)).status_code == 404  # the 404 is cached too
        inv = await api.invite(org, "ivy", "member", owner)
        assert (await api.client.post(f"/api/billing/invitations/{inv}/accept", headers=ivy)).status_code == 200
        assert (await api.client.get(_check(org), headers=ivy)).status_code == 200

        before = (await _warm(api, _check(org, "ai_requests"), owner)).json()
        assert before["tier"] == "free" and before["status"] is None
        r = await api.client.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=owner)
        assert r.status_code == 201, r.text
        after = (await api.client.get(_check(org, "ai_requests"), headers=owner)).json()
        assert (after["tier"], after["status"]) == ("standard", "active")


async def test_another_process_change_is_seen_within_the_bound(make_api: Callable[..., Any], store_url: str) -> None:
    async with make_api() as api:
        org = await api.org("ann")
        key = await api.key(org, "ann", "admin")
        assert (await _warm(api, _check(org), key)).status_code == 200
        other = make_engine(store_url)  # another process: the CLI, another API replica
        try:
            with sessions(other).begin() as s:
                s.execute(update(ApiKeyRow).values(revoked_at=api.clock()))
        finally:
            other.dispose()
        cache = api.ctx.cache
        assert cache.ttl == api.settings.api_cache_seconds == 2.0
        assert (await api.client.get(_check(org), headers=key)).status_code == 200  # unseen: still cached
        real = cache._clock
        cache._clock = lambda: real() + cache.ttl  # the bound has passed
        r = await api.client.get(_check(org), headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")


async def test_no_cache_reads_the_store_every_time(make_api: Callable[..., Any]) -> None:
    async with make_api(api_cache_seconds=0) as api:
        org = await api.org("ann")
        for _ in range(3):
            assert (await api.client.get(_check(org), headers=api.as_user("ann", org))).status_code == 200
        assert api.ctx.cache.hits == 0
