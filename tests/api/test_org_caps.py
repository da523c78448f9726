"""What one organization may keep in the billing store: active API keys and pending invitations are capped
(``METERLINE_API_KEYS_PER_ORGANIZATION``, ``METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION``), so that an
admin, or a stolen admin key, cannot fill the store. Only what is live counts. Each test plays the attacker
against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streams.store import invitations, orgs

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
INV = "/api/billing/invitations"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


def _error(r: Any) -> tuple[int, str | None, str]:
    body = r.json()
    error = body.get("error", {}) if r.status_code >= 400 else {}
    return r.status_code, error.get("code"), error.get("message", "")


async def test_an_admin_key_cannot_fill_the_store_with_api_keys(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE, api_keys_per_organization=3) as api:
        c = api.client
        a = await api.org("ann", name="A")
        b = await api.org("bea", name="B")
        stolen = await api.key(a, "ann", "admin")  # one of A's three

        async def create(org: str, headers: dict[str, str], name: str = "more") -> Any:
            return await c.post(f"{ORGS}/{org}/api-keys", json={"name": name, "role": "viewer"}, headers=headers)

        made = [(await create(a, stolen)).json()["id"] for _ in range(2)]
        status, code, message = _error(await create(a, stolen))
        assert (status, code) == (409, "too_many_api_keys"), message
        assert "has 3 active API keys" in message and "revoke" in message
        # The cap is the organization's: the owner's own token is refused as well, and B's keys are B's own.
        assert _error(await create(a, api.as_user("ann", a)))[:2] == (409, "too_many_api_keys")
        for _ in range(3):
            assert (await create(b, api.as_user("bea", b))).status_code == 201
        # A revoked key does not count (it stays listed): one revoked, one more may be made, and no more.
        assert (await c.delete(f"{ORGS}/{a}/api-keys/{made[0]}", headers=api.as_user("ann", a))).status_code == 200
        assert (await create(a, stolen)).status_code == 201
        assert _error(await create(a, stolen))[:2] == (409, "too_many_api_keys")
        keys = (await c.get(f"{ORGS}/{a}/api-keys", headers=api.as_user("ann", a))).json()["api_keys"]
        assert (len(keys), sum(k["revoked_at"] is None for k in keys)) == (4, 3)


async def test_an_admin_key_cannot_fill_the_store_with_invitations(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE, api_pending_invitations_per_organization=3, api_invitation_ttl_days=3) as api:
        c = api.client
        a = await api.org("ann", name="A")
        b = await api.org("bea", name="B")
        stolen = await api.key(a, "ann", "admin")

        async def invite(org: str, user: str, headers: dict[str, str]) -> Any:
            return await c.post(f"{ORGS}/{org}/invitations", json={"user_id": user, "role": "viewer"}, headers=headers)

        ids = {u: (await invite(a, u, stolen)).json()["id"] for u in ("u1", "u2", "u3")}
        status, code, message = _error(await invite(a, "u4", stolen))
        assert (status, code) == (409, "too_many_invitations"), message
        assert "has 3 pending invitations" in message and "expires" in message
        assert _error(await invite(a, "u4", api.as_user("ann", a)))[:2] == (409, "too_many_invitations")
        for u in ("u1", "u2", "u3"):  # B's invitations are B's own
            assert (await invite(b, u, api.as_user("bea", b))).status_code == 201
        # Accepted, revoked and declined invitations do not count.
        assert (await c.post(f"{INV}/{ids['u1']}/accept", headers=api.as_user("u1"))).status_code == 200
        ids["u4"] = (await invite(a, "u4", stolen)).json()["id"]
        assert (await c.delete(f"{ORGS}/{a}/invitations/{ids['u2']}", headers=stolen)).status_code == 200
        ids["u5"] = (await invite(a, "u5", stolen)).json()["id"]
        assert (await c.post(f"{INV}/{ids['u3']}/decline", headers=api.as_user("u3"))).status_code == 200
        ids["u6"] = (await invite(a, "u6", stolen)).json()["id"]
        assert _error(await invite(a, "u7", stolen))[:2] == (409, "too_many_invitations")
        # Resending a pending one adds none; expired ones do not count, until a resend makes one pending again.
        assert (await c.post(f"{ORGS}/{a}/invitations/{ids['u6']}/resend", headers=stolen)).status_code == 200
        api.clock.advance(timedelta(days=4))
        for u in ("u7", "u8", "u9"):
            ids[u] = (await invite(a, u, stolen)).json()["id"]
        r = await c.post(f"{ORGS}/{a}/invitations/{ids['u4']}/resend", headers=stolen)
        assert _error(r)[:2] == (409, "too_many_invitations")
        assert (await c.delete(f"{ORGS}/{a}/invitations/{ids['u7']}", headers=stolen)).status_code == 200
        r = await c.post(f"{ORGS}/{a}/invitations/{ids['u4']}/resend", headers=stolen)
        assert (r.status_code, r.json()["status"]) == (200, "pending"), r.text
        listed = (await c.get(f"{ORGS}/{a}/invitations", headers=stolen)).json()["invitations"]
        assert sorted(i["user_id"] for i in listed if i["status"] == "pending") == ["u4", "u8", "u9"]


def _held(count: Callable[..., int]) -> Callable[..., int]:
    """``count`` held at a barrier until both racing requests have counted (or, once the rule serializes them,
    until the first gives up waiting for the second, which waits for its lock): the unsafe interleaving is
    then certain if it is possible."""
    barrier = threading.Barrier(2)

    def held(*args: Any) -> int:
        n = count(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.0)
        return n

    return held


# What is raced for: the count held, the cap of 1 or 2, the create route, its body, the refusal's code.
RACES: dict[str, tuple[Any, str, dict[str, int], str, Callable[[int], dict[str, str]], str]] = {
    "api_keys": (
        orgs,
        "_live_keys",
        {"api_keys_per_organization": 2},  # the stolen key is the first
        "api-keys",
        lambda n: {"name": f"race {n}", "role": "admin"},
        "too_many_api_keys",
    ),
    "invitations": (
        invitations,
        "_pending",
        {"api_pending_invitations_per_organization": 1},
        "invitations",
        lambda n: {"user_id": f"r{n}", "role": "viewer"},
        "too_many_invitations",
    ),
}


@pytest.mark.parametrize("what", list(RACES))
async def test_two_requests_at_once_cannot_both_take_the_last_place(
    make_api: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    module, count, cap, route, body, code = RACES[what]
    async with make_api(now=JUNE, **cap) as api:
        a = await api.org("ann", name="A")
        stolen = await api.key(a, "ann", "admin")
        monkeypatch.setattr(module, count, _held(getattr(module, count)))
        url = f"{ORGS}/{a}/{route}"
        answers = await asyncio.gather(
            *(api.client.post(url, json=body(n), headers=h) for n, h in enumerate((stolen, api.as_user("ann", a))))
        )
        assert sorted(_error(r)[:2] for r in answers) == [(201, None), (409, code)], [r.text for r in answers]
        assert len((await api.client.get(url, headers=stolen)).json()[what]) == next(iter(cap.values()))
