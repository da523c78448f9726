"""The audit log (issue 17 item 6): every change to an organization's billing and access is recorded with who,
what (before and after), when and from where; it is append-only in the database (triggers refuse UPDATE and
DELETE on SQLite and PostgreSQL, but for the retention prune's) and in the code (no path edits it); it is read
through the API with filters, paging and a CSV export by owners, admins and viewers of that organization only."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from streams.cli.main import main
from streams.store import audit, orgs
from streams.store.db import sessions
from streams.store.models import AuditEntry

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _entry(e: Engine, at: datetime, org: str = "org_a") -> int:
    with sessions(e).begin() as s:
        return audit.record(s, org, audit.Origin("user:ann", "10.0.0.1", "ua"), "member.removed", at, target="bob").id


# -- append-only ---------------------------------------------------------------------------------------------


def test_the_database_refuses_to_update_or_delete_an_entry(engine: Engine) -> None:
    entry_id = _entry(engine, JUNE)
    make = sessions(engine)
    attempts = [
        update(AuditEntry).where(AuditEntry.id == entry_id).values(action="member.joined"),
        delete(AuditEntry).where(AuditEntry.id == entry_id),
        text("UPDATE audit_log SET actor = 'user:mallory'"),
        text("DELETE FROM audit_log"),
    ]
    for statement in attempts:
        with pytest.raises(DatabaseError, match="append-only"), make.begin() as s:
            s.execute(statement)
    with make() as s:
        row = s.get(AuditEntry, entry_id)
        assert row is not None and (row.action, row.actor) == ("member.removed", "user:ann")


def test_prune_deletes_only_entries_older_than_the_cutoff_and_leaves_no_gate(engine: Engine) -> None:
    old, recent = _entry(engine, JUNE - timedelta(days=500)), _entry(engine, JUNE - timedelta(days=10))
    with sessions(engine).begin() as s:
        assert audit.prune(s, JUNE - timedelta(days=400)) == 1
    with sessions(engine)() as s:
        assert [r.id for r in s.scalars(select(AuditEntry))] == [recent]
        assert s.get(AuditEntry, old) is None
        assert s.scalar(text("SELECT count(*) FROM audit_prune_gate")) == 0
    # The gate lived in the prune's transaction only: a plain delete is refused again.
    with pytest.raises(DatabaseError, match="append-only"), sessions(engine).begin() as s:
        s.execute(delete(AuditEntry))


def test_no_code_updates_or_deletes_an_entry_but_the_prune() -> None:
    """Every statement naming AuditEntry or audit_log in the code base that is not an insert or a select
    lives in ``streams.store.audit.prune``."""
    found: list[str] = []
    for path in (ROOT / "streams").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                writes = (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name | ast.Attribute)
                    and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in ("update", "delete")
                    and any(
                        isinstance(a, ast.Name) and a.id == "AuditEntry" for a in ast.walk(node) if a is not node.func
                    )
                ) or (isinstance(node, ast.Constant) and isinstance(node.value, str) and _raw_write(node.value))
                if writes:
                    found.append(f"{path.relative_to(ROOT)}:{fn.name}")
    assert found == ["streams/store/audit.py:prune"]


def _raw_write(sql: str) -> bool:
    s = " ".join(sql.lower().split())
    return "audit_log" in s and ("update audit_log" in s or "delete from audit_log" in s)


def test_audit_prune_command_keeps_the_retention_period(
    store_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    _entry(engine, now - timedelta(days=40))
    keep = _entry(engine, now - timedelta(days=20))
    monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
    monkeypatch.setenv("METERLINE_AUDIT_RETENTION_DAYS", "30")
    assert main(["audit", "prune", "--json"]) == 0
    assert '"deleted":1' in capsys.readouterr().out.replace(" ", "")
    with sessions(engine)() as s:
        assert list(s.scalars(select(AuditEntry.id))) == [keep]


# -- recorded by every write path, read through the API --------------------------------------------------------


async def test_changes_are_recorded_with_who_what_when_and_where(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        owner = {**api.as_user("ann", a), "user-agent": "admin-panel/1.0"}
        await api.join(a, "bob", "member", owner)
        r = await c.put(f"{ORGS}/{a}/members/bob", json={"role": "viewer"}, headers=owner)
        assert r.status_code == 200, r.text
        r = await c.post(f"{ORGS}/{a}/api-keys", json={"name": "ci", "role": "member"}, headers=owner)
        key_id = r.json()["id"]
        assert (await c.delete(f"{ORGS}/{a}/api-keys/{key_id}", headers=owner)).status_code == 200
        r = await c.patch(f"{ORGS}/{a}", json={"tax_id": "DE123"}, headers=owner)
        assert r.status_code == 200, r.text
        await api.subscribe(a, "ann")
        sub_id = (await c.get(f"{ORGS}/{a}/subscriptions", headers=owner)).json()["subscriptions"][0]["id"]
        r = await c.put(f"/api/billing/subscriptions/{sub_id}", json={"tier": "standard"}, headers=owner)
        assert r.status_code == 200, r.text
        assert (await c.delete(f"{ORGS}/{a}/members/bob", headers=owner)).status_code == 204
        # A refused change leaves no entry (the last owner stays).
        assert (await c.delete(f"{ORGS}/{a}/members/ann", headers=owner)).status_code == 409

        page = (await c.get(f"{ORGS}/{a}/audit?limit=100", headers=owner)).json()
        got = [(e["action"], e["actor"], e["target"]) for e in reversed(page["entries"])]
        assert got == [
            ("member.invited", "user:ann", "bob"),
            ("member.joined", "user:bob", "bob"),
            ("member.role_changed", "user:ann", "bob"),
            ("api_key.created", "user:ann", key_id),
            ("api_key.revoked", "user:ann", key_id),
            ("organization.updated", "user:ann", a),
            ("subscription.created", "user:ann", sub_id),
            ("subscription.changed", "user:ann", sub_id),
            ("member.removed", "user:ann", "bob"),
        ]
        by = {e["action"]: e for e in page["entries"]}
        role = by["member.role_changed"]
        assert (role["before"], role["after"]) == ({"role": "member"}, {"role": "viewer"})
        assert role["user_agent"] == "admin-panel/1.0" and role["ip"] == "127.0.0.1"
        assert role["at"].startswith("2026-06-10T12:00:00")
        assert by["organization.updated"]["before"]["tax_id"] is None
        assert by["organization.updated"]["after"]["tax_id"] == "DE123"
        changed = by["subscription.changed"]
        assert changed["before"]["tier"] == "free" and changed["after"]["tier"] == "standard"
        assert page["next_cursor"] is None


async def test_filters_paging_and_csv_export(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        owner = api.as_user("ann", a)
        for user in ("bob", "cat", "dan"):
            await api.join(a, user, "member", owner)
        api.clock.advance(timedelta(hours=1))
        r = await c.put(f"{ORGS}/{a}/members/cat", json={"role": '=HYPERLINK("x")'}, headers=owner)
        assert r.status_code == 422  # not a role: nothing recorded
        r = await c.put(f"{ORGS}/{a}/members/cat", json={"role": "admin"}, headers=owner)
        assert r.status_code == 200

        members = (await c.get(f"{ORGS}/{a}/audit?action=member.", headers=owner)).json()["entries"]
        assert len(members) == 7
        joined = (await c.get(f"{ORGS}/{a}/audit?action=member.joined", headers=owner)).json()["entries"]
        assert [e["target"] for e in joined] == ["dan", "cat", "bob"]
        by_cat = (await c.get(f"{ORGS}/{a}/audit?actor=user:cat", headers=owner)).json()["entries"]
        assert [e["action"] for e in by_cat] == ["member.joined"]
        since = (JUNE + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
        late = (await c.get(f"{ORGS}/{a}/audit", params={"since": since}, headers=owner)).json()["entries"]
        assert [e["action"] for e in late] == ["member.role_changed"]
        r = await c.get(f"{ORGS}/{a}/audit", params={"since": "2026-06-10T12:00:00"}, headers=owner)
        assert r.status_code == 422  # a time without its offset is ambiguous

        seen: list[int] = []
        cursor: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await c.get(f"{ORGS}/{a}/audit", params=params, headers=owner)).json()
            seen += [e["id"] for e in page["entries"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 7 and seen == sorted(seen, reverse=True)

        r = await c.get(f"{ORGS}/{a}/audit.csv", params={"action": "member."}, headers=owner)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert f'filename="audit-{a}.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["id"] for row in rows] == [str(i) for i in seen]
        change = next(row for row in rows if row["action"] == "member.role_changed")
        assert (change["actor"], change["target"], change["before"], change["after"]) == (
            "user:ann",
            "cat",
            '{"role":"member"}',
            '{"role":"admin"}',
        )


async def test_the_csv_export_streams_every_entry_of_a_large_log_and_only_its_own(
    make_api: Callable[..., Any],
) -> None:
    """Over several batches of 500 (each read in a session of its own while the answer streams): every entry once,
    newest first, none of another organization's written in between."""
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        b = await api.org("bob", name="B")
        with api.ctx.sessions.begin() as s:
            for i in range(1001):
                for org in (a, b):
                    after = {"name": f"{org}-{i}"}
                    audit.record(s, org, audit.Origin("user:x"), "organization.updated", JUNE, target=org, after=after)
        with api.ctx.sessions() as s:
            expected = [str(e.id) for e in audit.entries(s, a, audit.AuditFilter(), limit=5000)]
        r = await api.client.get(f"{ORGS}/{a}/audit.csv", headers=api.as_user("ann", a))
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == len(expected) >= 1001 and [row["id"] for row in rows] == expected
        assert b not in r.text


# -- who may read it ------------------------------------------------------------------------------------------


async def test_only_owners_admins_and_viewers_of_that_organization_read_it(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"adam": "admin", "viv": "viewer", "mel": "member"})
        b = await api.org("bea", name="B", members={"mel": "admin"})
        for who in (
            api.as_user("ann", a),
            api.as_user("adam", a),
            api.as_user("viv", a),
            await api.key(a, "ann", "viewer"),
        ):
            for path in ("audit", "audit.csv"):
                assert (await c.get(f"{ORGS}/{a}/{path}", headers=who)).status_code == 200
        # A member of A sees none of it; B's admins (mel is both), B's keys and strangers do not see A at all.
        attackers = [
            (api.as_user("mel", a), 403),
            (await api.key(a, "ann", "member"), 403),
            (api.as_user("mel", b), 404),
            (api.as_user("bea", b), 404),
            (await api.key(b, "bea", "admin"), 404),
            (api.as_user("bea"), 404),
            (api.as_user("eve"), 404),
            ({}, 401),
        ]
        for headers, status in attackers:
            for path in ("audit", "audit.csv"):
                r = await c.get(f"{ORGS}/{a}/{path}", headers=headers)
                assert r.status_code == status, (headers, path, r.text)
        # B's log names only B's changes: none of A's people or keys.
        b_log = (await c.get(f"{ORGS}/{b}/audit", headers=api.as_user("bea", b))).json()["entries"]
        a_log = (await c.get(f"{ORGS}/{a}/audit", headers=api.as_user("ann", a))).json()["entries"]
        assert [e["action"] for e in b_log] == ["api_key.created", "member.joined", "member.invited"]
        assert not {e["id"] for e in b_log} & {e["id"] for e in a_log}
        assert {e["target"] for e in a_log} >= {"adam", "viv", "mel"} and "adam" not in str(b_log)
        # Nothing writes to the log through the API.
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = await c.request(method, f"{ORGS}/{a}/audit", headers=api.as_user("ann", a))
            assert r.status_code == 405
        with api.ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.organization_id == a)) > 0
            assert orgs.member(s, a, "mel") is not None


async def test_a_sign_in_to_the_organizations_web_app_is_recorded(make_api: Callable[..., Any]) -> None:
    from streams.store import web_sessions

    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        with api.ctx.sessions.begin() as s:
            acting = web_sessions.create_link(s, "ann", a, "test", api.clock(), timedelta(minutes=15))
            personal = web_sessions.create_link(s, "ann", None, "test", api.clock(), timedelta(minutes=15))
        r = await api.client.post("/app/login", data={"token": acting.token}, headers={"user-agent": "Chromium/1"})
        assert r.status_code == 303
        api.client.cookies.clear()
        assert (await api.client.post("/app/login", data={"token": personal.token})).status_code == 303
        api.client.cookies.clear()
        assert (await api.client.post("/app/login", data={"token": acting.token})).status_code == 401  # used
        log = (await api.client.get(f"{ORGS}/{a}/audit?action=session.", headers=api.as_user("ann", a))).json()
        assert [(e["actor"], e["user_agent"]) for e in log["entries"]] == [("user:ann", "Chromium/1")]


async def test_operators_contract_and_credit_changes_are_recorded(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        owner = api.as_user("ann", a)
        sid = (await c.post("/api/billing/subscriptions/create", json={"tier": "enterprise"}, headers=owner)).json()[
            "id"
        ]
        ops = api.as_operator()
        r = await c.put(
            f"/api/billing/subscriptions/{sid}/contract",
            json={"contract": {"platform_fee": {"month": "1500"}}},
            headers=ops,
        )
        assert r.status_code == 200, r.text
        grant = {"name": "Prepaid", "amount": "1000.00"}
        r = await c.post(f"/api/billing/subscriptions/{sid}/credit-grants", json=grant, headers=ops)
        assert r.status_code == 201, r.text
        log = (await c.get(f"{ORGS}/{a}/audit", headers=owner)).json()["entries"]
        got = [(e["action"], e["actor"], e["target"]) for e in log[:2]]
        assert got == [
            ("credit_grant.created", "operator:ops-1", r.json()["id"]),
            ("contract.changed", "operator:ops-1", sid),
        ]
        assert log[0]["after"]["amount"] in ("1000.00", "1000")
