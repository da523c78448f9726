"""The role x endpoint matrix: owners and admins manage, viewers read, members read only their own share of
the organization's usage (and entitlements); nothing of another organization is visible (404), by token or
API key."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.api import Api

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
S = "/api/billing/subscriptions"
ORGS = "/api/billing/organizations"

MANAGE = {"owner", "admin", "key_admin"}
READ = MANAGE | {"viewer", "key_viewer"}
ANY = READ | {"member", "key_member"}
ROLES = ["owner", "admin", "member", "viewer", "key_admin", "key_member", "key_viewer", "outsider", "outsider_key"]
_seq = itertools.count()


@dataclass
class World:
    api: Api
    org: str
    other: str
    headers: dict[str, dict[str, str]]

    def owner(self) -> dict[str, str]:
        return self.headers["owner"]

    async def fresh_member(self) -> str:
        user = f"u{next(_seq)}"
        await self.api.join(self.org, user, "member", self.owner())
        return user

    async def fresh_sub(self, tier: str = "free") -> str:
        """A new subscription of the organization's account (a member's personal one is theirs alone): the
        current one is canceled first, a second later (the latest subscription of an account is its newest)."""
        c = self.api.client
        for sub in (await c.get(f"{ORGS}/{self.org}/subscriptions", headers=self.owner())).json()["subscriptions"]:
            if sub["status"] != "canceled":
                assert (await c.delete(f"{S}/{sub['id']}", headers=self.owner())).status_code == 200
        self.api.clock.advance(timedelta(seconds=1))
        r = await c.post(f"{S}/create", json={"tier": tier}, headers=self.owner())
        assert r.status_code == 201, r.text
        sid: str = r.json()["id"]
        return sid

    async def canceling_sub(self) -> str:
        sid = await self.fresh_sub("standard")
        assert (await self.api.client.post(f"{S}/{sid}/cancel", headers=self.owner())).status_code == 200
        return sid

    async def fresh_key(self) -> str:
        r = await self.api.client.post(
            f"{ORGS}/{self.org}/api-keys", json={"name": "k", "role": "viewer"}, headers=self.owner()
        )
        key_id: str = r.json()["id"]
        return key_id


Request = tuple[str, str, Any]  # method, url, json body


@dataclass
class Case:
    name: str
    allowed: set[str]
    ok: int
    make: Callable[[World], Awaitable[Request]]


def case(name: str, allowed: set[str], ok: int, make: Callable[[World], Awaitable[Request]]) -> Case:
    return Case(name, allowed, ok, make)


async def _static(req: Request) -> Request:
    return req


CASES = [
    case("get org", ANY, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}", None))),
    case("update org", MANAGE, 200, lambda w: _static(("PATCH", f"{ORGS}/{w.org}", {"name": "Acme 2"}))),
    case("list members", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/members", None))),
    case(
        "invite",
        MANAGE,
        201,
        lambda w: _static(("POST", f"{ORGS}/{w.org}/invitations", {"user_id": f"n{next(_seq)}", "role": "viewer"})),
    ),
    case("list invitations", MANAGE, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/invitations", None))),
    case("revoke invitation", MANAGE, 200, lambda w: _invitation_req(w, "DELETE", "")),
    case("resend invitation", MANAGE, 200, lambda w: _invitation_req(w, "POST", "/resend")),
    case("change member", MANAGE, 200, lambda w: _member_req(w, "PUT", {"role": "viewer"})),
    case("remove member", MANAGE, 204, lambda w: _member_req(w, "DELETE", None)),
    case(
        "create key",
        MANAGE,
        201,
        lambda w: _static(("POST", f"{ORGS}/{w.org}/api-keys", {"name": "x", "role": "member"})),
    ),
    case("list keys", MANAGE, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/api-keys", None))),
    case("revoke key", MANAGE, 200, lambda w: _key_req(w)),
    case("create subscription", MANAGE, 201, lambda w: _create_req(w)),
    case(  # a token acting in the organization never reaches its holder's personal account (that token has no org)
        "create own user subscription",
        set(),
        201,
        lambda w: _static(("POST", f"{S}/create", {"tier": "free", "account_kind": "user", "organization_id": w.org})),
    ),
    case("get subscription", READ, 200, lambda w: _sub_req(w, "GET", "", None)),
    case("upgrade subscription", MANAGE, 200, lambda w: _sub_req(w, "PUT", "", {"tier": "standard"})),
    case("cancel subscription", MANAGE, 200, lambda w: _sub_req(w, "POST", "/cancel", None)),
    case("delete subscription", MANAGE, 200, lambda w: _sub_req(w, "DELETE", "", None)),
    case("reactivate subscription", MANAGE, 200, lambda w: _reactivate_req(w)),
    case("read contract", MANAGE, 200, lambda w: _sub_req(w, "GET", "/contract", None)),
    # only a platform operator writes one (tests/api/test_contracts_api.py): no role of the organization
    case("write contract", set(), 200, lambda w: _sub_req(w, "PUT", "/contract", {"contract": None})),
    case("read add-ons", MANAGE, 200, lambda w: _sub_req(w, "GET", "/addons", None)),
    # only a platform operator records one (tests/api/test_addons_api.py)
    case("record add-on", set(), 201, lambda w: _sub_req(w, "POST", "/addons", {"name": "white_label_setup"})),
    case("read credit grants", MANAGE, 200, lambda w: _sub_req(w, "GET", "/credit-grants", None)),
    case("grant credit", set(), 201, lambda w: _sub_req(w, "POST", "/credit-grants", {"name": "x", "amount": "5"})),
    case("org subscriptions", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/subscriptions", None))),
    case("org entitlement", ANY, 200, lambda w: _static(("GET", f"/api/billing/entitlements/{w.org}/api_calls", None))),
    case("org usage now", READ, 200, lambda w: _static(("GET", f"/api/billing/usage/current?account={w.org}", None))),
    case(
        "org usage history", READ, 200, lambda w: _static(("GET", f"/api/billing/usage/history?account={w.org}", None))
    ),
    case("usage per member", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/usage", None))),
    case("invoices", READ, 200, lambda w: _static(("GET", f"/api/billing/invoices?account={w.org}", None))),
    case("org invoices", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/invoices", None))),
    case(
        "record usage",
        {"owner", "admin", "member", "key_admin", "key_member"},
        200,
        lambda w: _static(("POST", "/api/billing/usage/record", _usage_event("member", w.org, w.api.clock()))),
    ),
    case(
        "upcoming invoice",
        READ,
        200,
        lambda w: _static(("GET", f"/api/billing/invoices/upcoming?account={w.org}", None)),
    ),
    case("invoice forecast", READ, 200, lambda w: _static(("GET", f"/api/billing/forecast?account={w.org}", None))),
    case("read budget", READ, 200, lambda w: _static(("GET", f"/api/billing/budgets?account={w.org}", None))),
    # The admin panel and billing app routes of issues 16-18 (docs/security.md, "Routes and their checks").
    case("account subscriptions", READ, 200, lambda w: _static(("GET", f"{S}?account={w.org}", None))),
    case("preview a change", MANAGE, 200, lambda w: _sub_req(w, "POST", "/preview", {"action": "cancel"})),
    case("payments", READ, 200, lambda w: _static(("GET", f"/api/billing/payments?account={w.org}", None))),
    case(
        "usage breakdown", READ, 200, lambda w: _static(("GET", f"/api/billing/usage/breakdown?account={w.org}", None))
    ),
    case("ai controls", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/ai-controls", None))),
    case("set ai controls", MANAGE, 200, lambda w: _static(("PUT", f"{ORGS}/{w.org}/ai-controls", _NO_CONTROLS))),
    case("set a member's ai controls", MANAGE, 200, lambda w: _member_controls_req(w)),
    case(
        "ai access requests",
        READ | {"member"},
        200,
        lambda w: _static(("GET", f"{ORGS}/{w.org}/ai-access-requests", None)),
    ),
    case(
        "live usage per member",
        READ | {"member"},
        200,
        lambda w: _static(("GET", f"{ORGS}/{w.org}/usage/members", None)),
    ),
    case("seats", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/seats", None))),
    case("alerts", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/alerts", None))),
    case("analytics", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/analytics?months=1", None))),
    case("audit log", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/audit", None))),
    case("audit csv", READ, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/audit.csv", None))),
    case("branding", ANY, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/branding", None))),
    case("webhook endpoints", MANAGE, 200, lambda w: _static(("GET", f"{ORGS}/{w.org}/webhook-endpoints", None))),
    case("transfer ownership", {"owner"}, 200, lambda w: _transfer_req(w)),
    case(
        "set budget",
        MANAGE,
        200,
        lambda w: _static(("PUT", f"/api/billing/budgets?account={w.org}", {"amount": "300"})),
    ),
]


def _usage_event(user: str, org: str, at: datetime) -> dict[str, Any]:
    # The API's (test) clock: the decoder checks event times against it, and the organization must bill its
    # members' usage at that time for anyone but the member to record it.
    return {"timestamp": at.isoformat(), "user_id": user, "org_id": org, "metric": "api_calls", "quantity": "1"}


_NO_CONTROLS = {"disabled_features": []}


async def _member_controls_req(w: World) -> Request:
    return "PUT", f"{ORGS}/{w.org}/ai-controls/members/{await w.fresh_member()}", _NO_CONTROLS


async def _transfer_req(w: World) -> Request:
    # The caller stays an owner, so the owner of the world stays one for the cases after.
    return "POST", f"{ORGS}/{w.org}/transfer-ownership", {"user_id": await w.fresh_member(), "stay_owner": True}


async def _member_req(w: World, method: str, body: Any) -> Request:
    return method, f"{ORGS}/{w.org}/members/{await w.fresh_member()}", body


async def _invitation_req(w: World, method: str, suffix: str) -> Request:
    inv_id = await w.api.invite(w.org, f"i{next(_seq)}", "member", w.owner())
    return method, f"{ORGS}/{w.org}/invitations/{inv_id}{suffix}", None


async def _key_req(w: World) -> Request:
    return "DELETE", f"{ORGS}/{w.org}/api-keys/{await w.fresh_key()}", None


async def _create_req(w: World) -> Request:
    """The organization's own subscription, the one before canceled (an account has one at a time)."""
    subs = (await w.api.client.get(f"{ORGS}/{w.org}/subscriptions", headers=w.owner())).json()["subscriptions"]
    for sub in subs:
        if sub["account_kind"] == "org" and sub["status"] != "canceled":
            assert (await w.api.client.delete(f"{S}/{sub['id']}", headers=w.owner())).status_code == 200
    return "POST", f"{S}/create", {"tier": "free", "organization_id": w.org}


async def _sub_req(w: World, method: str, suffix: str, body: Any) -> Request:
    return method, f"{S}/{await w.fresh_sub()}{suffix}", body


async def _reactivate_req(w: World) -> Request:
    return "POST", f"{S}/{await w.canceling_sub()}/reactivate", None


async def _world(api: Api) -> World:
    org = await api.org("owner", members={"admin": "admin", "member": "member", "viewer": "viewer"})
    other = await api.org("outsider", name="Other Inc")
    await api.subscribe(org, "owner")  # it bills its members' usage: admins and keys may record it
    headers = {u: api.as_user(u, org) for u in ("owner", "admin", "member", "viewer")}
    for role in ("admin", "member", "viewer"):
        headers[f"key_{role}"] = await api.key(org, "owner", role)
    headers["outsider"] = api.as_user("outsider", other)
    headers["outsider_key"] = await api.key(other, "outsider", "admin")
    return World(api, org, other, headers)


async def test_role_endpoint_matrix(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        w = await _world(api)
        wrong = []
        for c, role in itertools.product(CASES, ROLES):
            method, url, body = await c.make(w)
            r = await api.client.request(method, url, json=body, headers=w.headers[role])
            expected = c.ok if role in c.allowed else 404 if role.startswith("outsider") else 403
            if r.status_code != expected:
                wrong.append(f"{c.name} as {role}: {r.status_code} (expected {expected}) {r.text[:160]}")
            if r.status_code >= 400:
                assert set(r.json()) == {"error"}
        assert not wrong, "\n".join(wrong)


async def test_scoping_rules(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        w = await _world(api)
        c = api.client
        # A member reads its own share of the organization's usage, nothing more; its personal account only
        # with its own token without 'org' (tests/api/test_tenant_isolation_members.py plays the attacks).
        me = w.headers["member"]
        personal = api.as_user("member")
        assert (await c.get("/api/billing/usage/current?account=member", headers=personal)).status_code == 200
        assert (await c.get("/api/billing/usage/current?account=member", headers=me)).status_code == 404
        assert (
            await c.get(f"/api/billing/usage/history?account={w.org}&user_id=member", headers=me)
        ).status_code == 200
        assert (
            await c.get(f"/api/billing/usage/history?account={w.org}&user_id=viewer", headers=me)
        ).status_code == 403
        assert (await c.get("/api/billing/usage/current?account=viewer", headers=me)).status_code == 404
        assert (await c.get("/api/billing/invoices?account=member", headers=personal)).status_code == 200
        # A token scoped to another organization sees nothing here, even for a member of both.
        await api.join(w.other, "admin", "admin", w.headers["outsider"])
        assert (await c.get(f"{ORGS}/{w.org}", headers=api.as_user("admin", w.other))).status_code == 404
        assert (await c.get(f"{ORGS}/{w.org}", headers=api.as_user("admin", w.org))).status_code == 200
        # A token naming an organization its user is not a member of.
        assert (await c.get(f"{ORGS}/{w.org}", headers=api.as_user("stranger", w.org))).status_code == 404
        # Accounts of another organization: 404, not 403.
        r = await c.get(f"/api/billing/entitlements/{w.other}/api_calls", headers=w.headers["owner"])
        assert r.status_code == 404
        r = await c.get("/api/billing/usage/current?account=outsider", headers=w.headers["owner"])
        assert r.status_code == 404
        # Keys: only platform users create organizations; a revoked key stops at once.
        r = await c.post(ORGS, json={"name": "by key"}, headers=w.headers["key_admin"])
        assert r.status_code == 403
        keys = (await c.get(f"{ORGS}/{w.org}/api-keys", headers=w.headers["owner"])).json()["api_keys"]
        viewer_key = next(k for k in keys if k["role"] == "viewer")
        assert (
            await c.delete(f"{ORGS}/{w.org}/api-keys/{viewer_key['id']}", headers=w.headers["owner"])
        ).status_code == 200
        r = await c.get(f"{ORGS}/{w.org}", headers=w.headers["key_viewer"])
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")
        # Owners: an admin cannot make or remove one; the last owner stays.
        r = await c.post(
            f"{ORGS}/{w.org}/invitations", json={"user_id": "x1", "role": "owner"}, headers=w.headers["admin"]
        )
        assert r.status_code == 403
        r = await c.put(f"{ORGS}/{w.org}/members/owner", json={"role": "admin"}, headers=w.headers["owner"])
        assert (r.status_code, r.json()["error"]["code"]) == (409, "last_owner")
        r = await c.delete(f"{ORGS}/{w.org}/members/owner", headers=w.headers["owner"])
        assert (r.status_code, r.json()["error"]["code"]) == (409, "last_owner")
        r = await c.post(
            f"{ORGS}/{w.org}/invitations", json={"user_id": "member", "role": "viewer"}, headers=w.headers["owner"]
        )
        assert (r.status_code, r.json()["error"]["code"]) == (409, "member_exists")
