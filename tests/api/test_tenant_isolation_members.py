"""Membership needs the member's consent, and never opens a member's personal account (issue 13, item 2), and
an organization keeps an owner under concurrent requests (item 4). Each test plays the attack end to end
against the real app on SQLite and PostgreSQL, with two and three organizations, a person who is a member of
several, and personal accounts with settled usage and a finalized invoice (real chDB)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from rating import lifecycle
from streams.api.warehouse import Warehouse
from streams.cli.main import main
from streams.store import orgs
from streams.store import subscription_store as store
from streams.store.db import downgrade, make_engine, migrate
from streams.store.models import Subscription
from tests.support.api import CH_DB, Api
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
INV = "/api/billing/invitations"
MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


def _uid(name: str) -> str:
    """A person's id unique to the test (the chDB directory is shared by the session's tests)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def _code(r: Any) -> tuple[int, str | None]:
    return r.status_code, (r.json().get("error", {}).get("code") if r.status_code >= 400 else None)


# -- consent ------------------------------------------------------------------------------------------


async def test_nobody_becomes_a_member_without_accepting(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        b = await api.org("bea", name="B", members={"vic": "member"})
        admin_a = api.as_user("ann", a)
        # The attack of the issue: adding another organization's member (or the organization itself) directly.
        for user in ("vic", b):
            r = await c.post(f"{ORGS}/{a}/members", json={"user_id": user, "role": "member"}, headers=admin_a)
            assert r.status_code == 405, r.text
        members = (await c.get(f"{ORGS}/{a}/members", headers=admin_a)).json()["members"]
        assert [m["user_id"] for m in members] == ["ann"]
        # An organization's own id is never invited, nor an organization made an owner by the bootstrap path.
        r = await c.post(f"{ORGS}/{a}/invitations", json={"user_id": a, "role": "viewer"}, headers=admin_a)
        assert _code(r) == (409, "not_a_user")
        with pytest.raises(orgs.StoreConflict), api.ctx.sessions.begin() as s:
            orgs.create_organization(s, "Shadow", b, JUNE)
        assert _code(await c.post(ORGS, json={"name": "Shadow"}, headers=api.as_user(b))) == (409, "not_a_user")
        # An invitation is only an invitation: vic is no member of A until vic accepts.
        inv = await api.invite(a, "vic", "admin", admin_a)
        assert (await c.get(f"{ORGS}/{a}", headers=api.as_user("vic", a))).status_code == 404
        assert (await c.get(f"/api/billing/invoices?account={a}", headers=api.as_user("vic"))).status_code == 404
        r = await c.post(f"{INV}/{inv}/accept", headers=api.as_user("vic"))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert (await c.get(f"{ORGS}/{a}", headers=api.as_user("vic", a))).json()["role"] == "admin"


async def test_an_invitation_tells_nothing_of_other_organizations_ids(make_api: Callable[..., Any]) -> None:
    """Inviting another organization's id answers as inviting an id nobody holds (the platform keeps no list of
    users): no existence oracle across tenants. The invitation is accepted by nobody and joins nothing."""
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        b = await api.org("bea", name="B")
        for attacker in (api.as_user("ann", a), await api.key(a, "ann", "admin")):
            answers = []
            for user in (b, _uid("nobody")):
                r = await c.post(f"{ORGS}/{a}/invitations", json={"user_id": user, "role": "viewer"}, headers=attacker)
                body = r.json()
                answers.append((r.status_code, sorted(body), body.get("status"), body.get("error")))
                if r.status_code == 201:
                    assert (await c.delete(f"{ORGS}/{a}/invitations/{body['id']}", headers=attacker)).status_code == 200
            assert answers[0] == answers[1] == (201, answers[1][1], "pending", None), answers
        inv = await api.invite(a, b, "admin", api.as_user("ann", a))
        assert _code(await c.post(f"{INV}/{inv}/accept", headers=api.as_user(b))) == (409, "not_a_user")
        members = (await c.get(f"{ORGS}/{a}/members", headers=api.as_user("ann", a))).json()["members"]
        assert [m["user_id"] for m in members] == ["ann"]
        assert (await c.get(f"{ORGS}/{b}", headers=api.as_user("bea", b))).json()["name"] == "B"


async def test_only_the_invited_user_accepts_once_before_expiry(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE, api_invitation_ttl_days=3) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"adam": "admin", "viv": "viewer"})
        b = await api.org("bea", name="B")
        owner, admin = api.as_user("ann", a), api.as_user("adam", a)
        r = await c.post(
            f"{ORGS}/{a}/invitations",
            json={"user_id": "ivo", "email": "ivo@example.com", "role": "member"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        inv = r.json()
        assert (inv["status"], inv["invited_by"], inv["organization_name"]) == ("pending", "user:adam", "A")
        assert inv["expires_at"] == (JUNE + timedelta(days=3)).isoformat().replace("+00:00", "Z")
        url = f"{INV}/{inv['id']}"
        # Whoever else holds the id: another user, the inviter, an API key, another organization's owner: 404.
        for who in (api.as_user("eve"), api.as_user("adam"), await api.key(a, "ann", "admin"), api.as_user("bea", b)):
            assert (await c.post(f"{url}/accept", headers=who)).status_code == 404
            assert (await c.post(f"{url}/decline", headers=who)).status_code == 404
        # The invitee acts with their own token, not one acting in an organization.
        assert _code(await c.post(f"{url}/accept", headers=api.as_user("ivo", b))) == (403, "forbidden")
        assert _code(await c.get(INV, headers=api.as_user("ivo", b))) == (403, "forbidden")
        mine = (await c.get(INV, headers=api.as_user("ivo"))).json()["invitations"]
        assert [(i["id"], i["status"]) for i in mine] == [(inv["id"], "pending")]
        assert (await c.get(INV, headers=api.as_user("eve"))).json()["invitations"] == []
        # Other organizations neither see nor touch A's invitations; viewers do not manage them.
        assert (await c.get(f"{ORGS}/{a}/invitations", headers=api.as_user("bea", b))).status_code == 404
        assert (await c.delete(f"{ORGS}/{b}/invitations/{inv['id']}", headers=api.as_user("bea", b))).status_code == 404
        assert (await c.get(f"{ORGS}/{a}/invitations", headers=api.as_user("viv", a))).status_code == 403
        # A second pending invitation of the same person is refused; accepted once, never again.
        r = await c.post(f"{ORGS}/{a}/invitations", json={"user_id": "ivo", "role": "admin"}, headers=owner)
        assert _code(r) == (409, "invitation_exists")
        r = await c.post(f"{url}/accept", headers=api.as_user("ivo"))
        assert r.status_code == 200 and r.json()["responded_at"] is not None
        assert _code(await c.post(f"{url}/accept", headers=api.as_user("ivo"))) == (409, "invitation_accepted")
        assert _code(await c.delete(f"{ORGS}/{a}/invitations/{inv['id']}", headers=owner)) == (
            409,
            "invitation_accepted",
        )
        assert _code(await c.post(f"{ORGS}/{a}/invitations/{inv['id']}/resend", headers=owner)) == (
            409,
            "invitation_accepted",
        )

        # Declined, revoked: closed for good.
        declined = await api.invite(a, "dan", "member", owner)
        assert (await c.post(f"{INV}/{declined}/decline", headers=api.as_user("dan"))).json()["status"] == "declined"
        assert _code(await c.post(f"{INV}/{declined}/accept", headers=api.as_user("dan"))) == (
            409,
            "invitation_declined",
        )
        revoked = await api.invite(a, "rex", "member", owner)
        r = await c.delete(f"{ORGS}/{a}/invitations/{revoked}", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "revoked"
        assert _code(await c.post(f"{INV}/{revoked}/accept", headers=api.as_user("rex"))) == (409, "invitation_revoked")
        # Only an owner invites an owner, or revokes such an invitation.
        r = await c.post(f"{ORGS}/{a}/invitations", json={"user_id": "otto", "role": "owner"}, headers=admin)
        assert r.status_code == 403
        to_owner = await api.invite(a, "otto", "owner", owner)
        assert (await c.delete(f"{ORGS}/{a}/invitations/{to_owner}", headers=admin)).status_code == 403

        # Expired after the configured term; a resend gives a new one.
        late = await api.invite(a, "lea", "viewer", admin)
        api.clock.advance(timedelta(days=3))
        assert _code(await c.post(f"{INV}/{late}/accept", headers=api.as_user("lea"))) == (409, "invitation_expired")
        listed = (await c.get(f"{ORGS}/{a}/invitations", headers=owner)).json()["invitations"]
        assert {i["id"]: i["status"] for i in listed}[late] == "expired"
        r = await c.post(f"{ORGS}/{a}/invitations/{late}/resend", headers=admin)
        assert r.status_code == 200 and r.json()["expires_at"].startswith(
            (api.clock.now + timedelta(days=3)).date().isoformat()
        )
        assert (await c.post(f"{INV}/{late}/accept", headers=api.as_user("lea"))).status_code == 200

        # An invitation made by an admin who has lost the role since grants nothing.
        stale = await api.invite(a, "sam", "admin", admin)
        assert (await c.put(f"{ORGS}/{a}/members/adam", json={"role": "viewer"}, headers=owner)).status_code == 200
        assert _code(await c.post(f"{INV}/{stale}/accept", headers=api.as_user("sam"))) == (409, "invitation_revoked")
        # So does one made with an API key revoked since.
        key = await api.key(a, "ann", "admin")
        by_key = await api.invite(a, "kit", "member", key)
        keys = (await c.get(f"{ORGS}/{a}/api-keys", headers=owner)).json()["api_keys"]
        for k in keys:
            assert (await c.delete(f"{ORGS}/{a}/api-keys/{k['id']}", headers=owner)).status_code == 200
        assert _code(await c.post(f"{INV}/{by_key}/accept", headers=api.as_user("kit"))) == (409, "invitation_revoked")
        members = {
            m["user_id"]: m["role"] for m in (await c.get(f"{ORGS}/{a}/members", headers=owner)).json()["members"]
        }
        assert members == {"ann": "owner", "adam": "viewer", "viv": "viewer", "ivo": "member", "lea": "viewer"}


async def test_an_operator_invites_from_the_command_line(
    make_api: Callable[..., Any],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``meterline api invite`` makes an invitation like the API's: the user still has to accept it."""
    monkeypatch.setenv("METERLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        b = await api.org("bea", name="B")
        capsys.readouterr()
        assert main(["api", "invite", "--org", a, "--user", "opal", "--role", "viewer", "--json"]) == 0
        inv = orjson.loads(capsys.readouterr().out)["invitation_id"]
        assert (await api.client.get(f"{ORGS}/{a}", headers=api.as_user("opal", a))).status_code == 404
        assert (await api.client.post(f"{INV}/{inv}/accept", headers=api.as_user("eve"))).status_code == 404
        r = await api.client.post(f"{INV}/{inv}/accept", headers=api.as_user("opal"))
        assert (r.status_code, r.json()["invited_by"]) == (200, "operator:cli"), r.text
        assert (await api.client.get(f"{ORGS}/{a}", headers=api.as_user("opal", a))).json()["role"] == "viewer"
        assert main(["api", "invite", "--org", a, "--user", b, "--role", "member"]) == 2
        assert "never a member" in capsys.readouterr().err


async def test_racing_accept_and_revoke_grant_at_most_once(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        for n in range(4):
            user = f"r{n}"
            inv = await api.invite(a, user, "member", api.as_user("ann", a))
            accepts = [c.post(f"{INV}/{inv}/accept", headers=api.as_user(user)) for _ in range(2)]
            revoke = c.delete(f"{ORGS}/{a}/invitations/{inv}", headers=api.as_user("ann", a))
            *accepted, revoked = await asyncio.gather(*accepts, revoke)
            wins = [r.status_code for r in accepted].count(200) + (revoked.status_code == 200)
            assert wins == 1, [r.text for r in (*accepted, revoked)]
            with api.ctx.sessions() as s:
                joined = orgs.member(s, a, user) is not None
            assert joined == any(r.status_code == 200 for r in accepted)
        # Two open invitations of one person (an expired one resent) accepted at once: one membership.
        owner = api.as_user("ann", a)
        first = await api.invite(a, "twin", "member", owner)
        api.clock.advance(timedelta(days=8))
        second = await api.invite(a, "twin", "viewer", owner)
        assert (await c.post(f"{ORGS}/{a}/invitations/{first}/resend", headers=owner)).status_code == 200
        answers = await asyncio.gather(
            *(c.post(f"{INV}/{inv}/accept", headers=api.as_user("twin")) for inv in (first, second))
        )
        assert sorted(_code(r) for r in answers) == [(200, None), (409, "member_exists")], [r.text for r in answers]
        with api.ctx.sessions() as s:
            assert [m.user_id for m in orgs.members(s, a)].count("twin") == 1


# -- personal accounts --------------------------------------------------------------------------------


def _events(user: str, org: str | None, at: datetime, quantities: list[int]) -> bytes:
    account = org or user
    return event_block(account, user, org, "api_calls", at, quantities, id_prefix=f"{account}-{user}")


def _personal_subscription(api: Api, user: str, org: str) -> str:
    """``user``'s own standard subscription, made the way the API made them before invitations: by an admin
    of ``org`` for a member (so its row names ``org``). It stays the person's account all the same."""
    with api.ctx.sessions.begin() as s:
        row = Subscription(
            id=orgs.new_id("msub"),
            organization_id=org,
            account_id=user,
            account_kind="user",
            anchor=date(2026, 5, 1),
            tier="standard",
            interval="month",
            status="active",
            created_at=MAY,
            updated_at=MAY,
        )
        s.add(row)
        s.flush()
        store.save_plan(s, row, lifecycle.Plan("standard", "month", "active"), MAY, "create")
        return row.id


async def test_membership_never_opens_a_members_personal_account(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """Vera is an admin of A and a member of B; C is a third organization. Her personal account (its
    subscription, finalized May invoice as JSON and PDF, upcoming invoice, usage, entitlements, pay) is hers
    alone: no role of A, B or C reaches it, by token or API key, and no organization's list shows it. Her
    usage in A is A's, which A reads per member; B sees none of it."""
    vera = _uid("vera")
    async with make_api(now=MAY) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"vic": "viewer"})
        b = await api.org("bea", name="B")
        third = await api.org("cal", name="C")
        await api.join(a, vera, "admin", api.as_user("ann", a))
        await api.join(b, vera, "member", api.as_user("bea", b))
        r = await c.post(
            "/api/billing/subscriptions/create",
            json={"tier": "standard", "anchor": "2026-05-01"},
            headers=api.as_user("ann", a),
        )
        assert r.status_code == 201, r.text
        sub = _personal_subscription(api, vera, a)

        ch = warehouse._open()
        for block in (
            _events(vera, None, MAY + timedelta(days=2), [60000, 90000]),  # personal: billed to vera
            _events(vera, a, MAY + timedelta(days=3), [1234]),  # in A: billed to A
            _events("vic", a, MAY + timedelta(days=4), [10]),
        ):
            ch.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        api.clock.now = JUNE

        settler = api_settler(api, ch, lambda: [a, vera])
        result = settler.settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))
        personal_inv, org_inv = f"in_{vera}_2026-05", f"in_{a}_2026-05"
        assert {personal_inv, org_inv} <= set(result.finalized)

        personal = [
            ("GET", f"/api/billing/invoices/{personal_inv}"),
            ("GET", f"/api/billing/invoices/{personal_inv}.pdf"),
            ("POST", f"/api/billing/invoices/{personal_inv}/pay"),
            ("GET", f"/api/billing/invoices?account={vera}"),
            ("GET", f"/api/billing/invoices/upcoming?account={vera}"),
            ("GET", f"/api/billing/usage/current?account={vera}"),
            ("GET", f"/api/billing/usage/history?account={vera}&from=2026-04-01T00:00:00Z"),
            ("GET", f"/api/billing/entitlements/{vera}/api_calls"),
            ("GET", f"/api/billing/subscriptions/{sub}"),
            ("POST", f"/api/billing/subscriptions/{sub}/cancel"),
        ]
        attackers = {
            "A owner (org token)": api.as_user("ann", a),
            "A owner (own token)": api.as_user("ann"),
            "A admin key": await api.key(a, "ann", "admin"),
            "A viewer": api.as_user("vic", a),
            "B owner": api.as_user("bea", b),
            "B admin key": await api.key(b, "bea", "admin"),
            "C owner": api.as_user("cal", third),
            "vera acting in A": api.as_user(vera, a),
            "vera acting in B": api.as_user(vera, b),
        }
        opened = []
        for name, headers in attackers.items():
            for method, url in personal:
                r = await c.request(method, url, headers=headers)
                if r.status_code != 404:
                    opened.append(f"{name}: {method} {url} -> {r.status_code}")
        assert not opened, "\n".join(opened)

        # Vera's own token (no 'org') reaches all of it.
        me = api.as_user(vera)
        for method, url in personal:
            r = await c.request(method, url, headers=me)
            assert r.status_code == 200 or _code(r) == (409, "not_in_stripe"), f"{method} {url}: {r.text}"
        doc = (await c.get(f"/api/billing/invoices/{personal_inv}", headers=me)).json()
        assert (doc["account_id"], doc["total"]) == (vera, "549.99")  # 49.99 + 50,000 over 100,000 at 0.01
        assert [i["invoice_id"] for i in (await c.get("/api/billing/invoices", headers=me)).json()["invoices"]] == [
            personal_inv
        ]

        # No organization's list shows the personal account.
        for headers, org in (
            (api.as_user("ann", a), a),
            (api.as_user("bea", b), b),
            (api.as_user("cal", third), third),
        ):
            listed = (await c.get("/api/billing/invoices", headers=headers)).json()["invoices"]
            by_org = (await c.get(f"{ORGS}/{org}/invoices", headers=headers)).json()["invoices"]
            assert listed == by_org and all(i["account_id"] == org for i in listed)
            subs = (await c.get(f"{ORGS}/{org}/subscriptions", headers=headers)).json()["subscriptions"]
            assert sub not in {s["id"] for s in subs}
        assert [
            i["invoice_id"]
            for i in (await c.get(f"{ORGS}/{a}/invoices", headers=api.as_user("ann", a))).json()["invoices"]
        ] == [org_inv]

        # Vera's usage in A is A's usage, read per member there; her personal usage is in none of it.
        rows = (await c.get(f"{ORGS}/{a}/usage", headers=api.as_user("ann", a))).json()["rows"]
        assert {(r["user_id"], r["quantity"]) for r in rows} == {(vera, "1234"), ("vic", "10")}
        r = await c.get(
            f"/api/billing/usage/history?account={a}&user_id={vera}&from=2026-04-01T00:00:00Z",
            headers=api.as_user("ann", a),
        )
        assert [row["quantity"] for row in r.json()["rows"]] == ["1234"]
        assert (await c.get(f"{ORGS}/{b}/usage", headers=api.as_user("bea", b))).json()["rows"] == []
        mine = (await c.get(f"/api/billing/usage/history?account={vera}&from=2026-04-01T00:00:00Z", headers=me)).json()
        assert sorted(row["quantity"] for row in mine["rows"]) == ["150000"]


async def test_no_organization_records_or_reads_as_a_person(make_api: Callable[..., Any]) -> None:
    """Usage without ``org_id`` is a person's own: only their own token without ``org`` records it."""
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A", members={"mo": "member"})
        event = {"timestamp": JUNE.isoformat(), "user_id": "mo", "metric": "api_calls", "quantity": "5"}
        for headers in (api.as_user("ann", a), await api.key(a, "ann", "admin"), api.as_user("mo", a)):
            r = await api.client.post("/api/billing/usage/record", json=event, headers=headers)
            assert r.status_code == 403, r.text
        r = await api.client.post("/api/billing/usage/record", json=event, headers=api.as_user("mo"))
        assert r.status_code == 200, r.text


def test_the_migration_drops_organizations_made_members(store_url: str) -> None:
    """Rows of the old direct add that made organization B a "member" of A are removed by migration 0005."""
    engine = make_engine(store_url)
    try:
        migrate(engine)
        downgrade(engine, "0004")
        with engine.begin() as conn:  # plain SQL: the models are those of the newest revision
            for org in ("org_00000000000000aa", "org_00000000000000bb"):
                conn.execute(
                    text("INSERT INTO organizations (id, name, created_at, updated_at) VALUES (:id, 'x', :t, :t)"),
                    {"id": org, "t": JUNE},
                )
            for user in ("ann", "org_00000000000000bb"):
                conn.execute(
                    text(
                        "INSERT INTO members (organization_id, user_id, role, created_at) VALUES (:o, :u, 'member', :t)"
                    ),
                    {"o": "org_00000000000000aa", "u": user, "t": JUNE},
                )
        migrate(engine)
        with engine.connect() as conn:
            users = conn.execute(text("SELECT user_id FROM members WHERE organization_id = 'org_00000000000000aa'"))
            assert [u for (u,) in users] == ["ann"]
            assert conn.execute(text("SELECT count(*) FROM organizations")).scalar() == 2
    finally:
        engine.dispose()


# -- the last owner -----------------------------------------------------------------------------------


SCENARIOS = {
    "both leave": lambda o1, o2: [("DELETE", o1, o1, None), ("DELETE", o2, o2, None)],
    "both step down": lambda o1, o2: [("PUT", o1, o1, {"role": "admin"}), ("PUT", o2, o2, {"role": "admin"})],
    "each demotes the other": lambda o1, o2: [("PUT", o1, o2, {"role": "member"}), ("PUT", o2, o1, {"role": "member"})],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_concurrent_owner_changes_keep_an_owner(
    make_api: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    """Two owners at once, as real concurrent requests (each in its own thread and transaction). The owner
    count is held at a barrier until both requests have counted (or, once the rule serializes them, until the
    first gives up waiting for the second), which makes the unsafe interleaving certain if it is possible."""
    count = orgs._owners
    barrier = threading.Barrier(2)

    def held(s: Any, org_id: str) -> int:
        n = count(s, org_id)
        # Broken (timed out): the other request waits for the lock this one holds, go on.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.0)
        return n

    monkeypatch.setattr(orgs, "_owners", held)
    async with make_api(now=JUNE) as api:
        a = await api.org("o1", name="A", members={"o2": "owner"})
        requests = [
            api.client.request(method, f"{ORGS}/{a}/members/{target}", json=body, headers=api.as_user(actor, a))
            for method, actor, target, body in SCENARIOS[scenario]("o1", "o2")
        ]
        answers = await asyncio.gather(*requests)
        with api.ctx.sessions() as s:
            owners = [m.user_id for m in orgs.members(s, a) if m.role == "owner"]
        assert len(owners) == 1, [r.text for r in answers]
        assert sorted(r.status_code < 300 for r in answers) == [False, True], [r.text for r in answers]
        assert {_code(r) for r in answers if r.status_code >= 300} <= {
            (409, "last_owner"),
            (403, "forbidden"),
            (404, "not_found"),
        }
