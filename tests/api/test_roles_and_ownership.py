"""Roles and ownership (issue 17, item 2): the table of what each role may do is the one authorization uses, and
only an owner transfers ownership (never an admin, a key, another organization's owner), recorded in the log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.api import auth
from streams.api.roles import roles_with

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


def test_authorization_checks_the_role_table() -> None:
    assert auth.MANAGE == roles_with("billing.manage") == {"owner", "admin"}
    assert auth.READ_ALL == roles_with("billing.read") == {"owner", "admin", "viewer"}
    assert auth.ANY == roles_with("usage.own") == {"owner", "admin", "member", "viewer"}
    assert auth.OWNERS == roles_with("owners.manage") == {"owner"}


async def test_roles_endpoint_shows_what_each_role_may_do(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A", members={"mel": "member"})
        assert (await api.client.get("/api/billing/roles")).status_code == 401
        r = await api.client.get("/api/billing/roles", headers=api.as_user("mel", a))
        assert r.status_code == 200, r.text
        roles = {x["role"]: x["permissions"] for x in r.json()["roles"]}
        assert roles == {
            "owner": ["usage.own", "billing.read", "billing.manage", "owners.manage"],
            "admin": ["usage.own", "billing.read", "billing.manage"],
            "member": ["usage.own"],
            "viewer": ["usage.own", "billing.read"],
        }
        assert all(p["description"] for p in r.json()["permissions"])


async def test_only_an_owner_transfers_ownership(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"adam": "admin", "viv": "viewer", "mel": "member"})
        b = await api.org("bea", name="B", members={"mel": "owner"})
        url = f"{ORGS}/{a}/transfer-ownership"
        body = {"user_id": "adam"}
        attackers: list[tuple[dict[str, str], int]] = [
            (api.as_user("adam", a), 403),  # an admin makes no owner, not even of itself
            (api.as_user("viv", a), 403),
            (api.as_user("mel", a), 403),
            (await api.key(a, "ann", "admin"), 403),
            (api.as_user("mel", b), 404),  # an owner of B is nothing in A
            (api.as_user("bea", b), 404),
            (api.as_user("eve"), 404),
            ({}, 401),
        ]
        for headers, status in attackers:
            r = await c.post(url, json=body, headers=headers)
            assert r.status_code == status, (headers, r.text)
        owner = api.as_user("ann", a)
        assert (await c.post(url, json={"user_id": "nobody"}, headers=owner)).status_code == 404
        assert (await c.post(url, json={"user_id": "ann"}, headers=owner)).status_code == 409
        # Nothing changed so far.
        members = (await c.get(f"{ORGS}/{a}/members", headers=owner)).json()["members"]
        assert {m["user_id"]: m["role"] for m in members} == {
            "ann": "owner",
            "adam": "admin",
            "viv": "viewer",
            "mel": "member",
        }

        r = await c.post(url, json={"user_id": "viv"}, headers=owner)
        assert r.status_code == 200, r.text
        assert {m["user_id"]: m["role"] for m in r.json()["members"]}["viv"] == "owner"
        assert {m["user_id"]: m["role"] for m in r.json()["members"]}["ann"] == "admin"
        # ann is no owner any more: she cannot take it back; viv can keep hers while giving one more.
        assert (await c.post(url, json={"user_id": "ann"}, headers=owner)).status_code == 403
        r = await c.post(url, json={"user_id": "adam", "stay_owner": True}, headers=api.as_user("viv", a))
        roles = {m["user_id"]: m["role"] for m in r.json()["members"]}
        assert (roles["viv"], roles["adam"]) == ("owner", "owner")

        log = (await c.get(f"{ORGS}/{a}/audit?action=ownership.transferred", headers=owner)).json()["entries"]
        assert [(e["actor"], e["target"]) for e in log] == [("user:viv", "adam"), ("user:ann", "viv")]
        assert log[1]["before"] == {"owner": "ann", "new_owner_role": "viewer"}
        assert log[1]["after"] == {"owner": "viv", "previous_owner_role": "admin"}
