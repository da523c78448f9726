"""Monthly AI caps (issue 17, item 4) counted on the organization's real events in ClickHouse: a hard cap refuses
the member's (or everyone's) next AI request in the entitlement answer, an alert-only cap never does, each
threshold raises one ``ai_cap_alert`` notice; the live usage per member and the seats are read by the roles that
may, and a member sees only their own use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from rating.ai_caps import AiCap, AiUse, crossings, reached, refusal
from streams.api.warehouse import Warehouse
from streams.store.models import NoticeRow
from tests.support.api import CH_DB, Api

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
ENT = "/api/billing/entitlements"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


def test_caps_refuse_only_when_hard_and_alert_at_80_and_100() -> None:
    cap = AiCap(Decimal("10"), 100, hard=True)
    assert reached(cap, AiUse(Decimal(99), Decimal("9.99"))) == ()
    assert reached(cap, AiUse(Decimal(100), Decimal("10"))) == ("spend", "requests")
    assert refusal([(cap, AiUse(Decimal(100), Decimal(0)))]) == "ai_cap_reached"
    assert refusal([(AiCap(Decimal(1), None, hard=False), AiUse(Decimal(5), Decimal(5)))]) is None
    got = [(c.what, c.threshold) for c in crossings(cap, AiUse(Decimal(80), Decimal("10.5")))]
    assert got == [("spend", "80"), ("spend", "100"), ("requests", "80")]
    assert [c.threshold for c in crossings(AiCap(None, 0, True), AiUse())] == ["100"]


def ai_events(org: str, user: str, at: datetime, n: int, *, model: str = "gpt-4o", prefix: str) -> bytes:
    """``n`` AI requests of ``user`` through OpenAI ``model``: 1,000 input and 500 output tokens each."""
    rows = [
        orjson.dumps(
            {
                "event_id": f"{prefix}-{i}",
                "account_id": org,
                "user_id": user,
                "org_id": org,
                "metric": "ai_requests",
                "quantity": "1",
                "ts_ms": int((at + timedelta(seconds=i)).timestamp() * 1000),
                "properties": {"provider": "openai", "model": model, "input_tokens": "1000", "output_tokens": "500"},
                "source": "gateway",
            }
        )
        for i in range(n)
    ]
    return b"\n".join(rows) + b"\n"


def store(warehouse: Warehouse, block: bytes) -> None:
    warehouse._open().raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")


async def allowed(api: Api, org: str, headers: dict[str, str], feature: str, **params: str) -> tuple[bool, Any]:
    r = await api.client.get(f"{ENT}/{org}/{feature}", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["allowed"], r.json()["reason"]


async def test_a_hard_member_cap_refuses_their_next_ai_request_and_alerts(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org("ann", name="Caps", members={"mel": "member", "sam": "member"})
        await api.subscribe(org, "ann", tier="standard")
        owner = api.as_user("ann", org)
        gateway = await api.key(org, "ann", "member")
        r = await c.put(
            f"{ORGS}/{org}/ai-controls/members/mel",
            json={"monthly_request_cap": 10, "cap_mode": "hard"},
            headers=owner,
        )
        assert r.status_code == 200, r.text
        # gpt-4o: 1,000 in at $2.50/M + 500 out at $10/M = $0.0075 a request.
        store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=2), 9, prefix=f"{org}-mel-a"))
        store(warehouse, ai_events(org, "sam", JUNE - timedelta(hours=2), 30, prefix=f"{org}-sam"))
        api.ctx.cache.invalidate()
        assert await allowed(api, org, gateway, "ai_requests", user_id="mel") == (True, None)
        alerts = api.app.state.ai_caps.run_once()
        assert alerts == [f"ai_cap:{org}:mel:2026-06:requests:80"]

        # The tenth request reaches the cap: the next is refused, for mel only.
        store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=1), 1, prefix=f"{org}-mel-b"))
        api.ctx.cache.invalidate()
        assert await allowed(api, org, gateway, "ai_requests", user_id="mel") == (False, "ai_cap_reached")
        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (False, "ai_cap_reached")
        assert await allowed(api, org, gateway, "ai_search", user_id="mel", provider="openai") == (
            False,
            "ai_cap_reached",
        )
        assert await allowed(api, org, gateway, "ai_search", user_id="mel") == (True, None)  # not an AI request
        assert await allowed(api, org, gateway, "api_calls", user_id="mel") == (True, None)
        assert await allowed(api, org, gateway, "ai_requests", user_id="sam") == (True, None)
        assert api.app.state.ai_caps.run_once() == [f"ai_cap:{org}:mel:2026-06:requests:100"]
        assert api.app.state.ai_caps.run_once() == []  # once a period
        with api.ctx.sessions() as s:
            notices = s.scalars(select(NoticeRow).where(NoticeRow.account_id == org).order_by(NoticeRow.id)).all()
            assert [n.kind for n in notices] == ["ai_cap_alert", "ai_cap_alert"]
            assert notices[1].context["used"] == "10" and notices[1].context["hard"] is True

        # Alert-only: allowed again, the alerts stay.
        r = await c.put(
            f"{ORGS}/{org}/ai-controls/members/mel",
            json={"monthly_request_cap": 10, "cap_mode": "alert"},
            headers=owner,
        )
        assert await allowed(api, org, gateway, "ai_requests", user_id="mel") == (True, None)

        # The organization's spend cap counts everyone: 40 requests x $0.0075 = $0.30.
        r = await c.put(
            f"{ORGS}/{org}/ai-controls", json={"monthly_spend_cap": "0.25", "cap_mode": "hard"}, headers=owner
        )
        assert r.status_code == 200, r.text
        assert await allowed(api, org, gateway, "ai_requests", user_id="sam") == (False, "ai_cap_reached")
        assert await allowed(api, org, gateway, "ai_requests") == (False, "ai_cap_reached")
        new = api.app.state.ai_caps.run_once()
        assert sorted(new) == [f"ai_cap:{org}:*:2026-06:spend:100", f"ai_cap:{org}:*:2026-06:spend:80"]

        # The alerts raised this period, in words, for those who read the organization's billing.
        r = await c.get(f"{ORGS}/{org}/alerts", headers=api.as_user("ann", org))
        assert r.status_code == 200, r.text
        got = [(a["kind"], a["summary"]) for a in r.json()["alerts"]]
        assert len(got) == 4 and all(kind == "ai_cap_alert" for kind, _ in got)
        assert "AI cap alert: AI requests of mel at 100 % of the cap" in [s for _, s in got]
        assert "AI cap alert: AI spend of everyone at 80 % of the cap" in [s for _, s in got]
        assert (await c.get(f"{ORGS}/{org}/alerts", headers=gateway)).status_code == 403
        assert (await c.get(f"{ORGS}/{org}/alerts", headers=api.as_user("eve"))).status_code == 404


async def test_live_usage_per_member_and_who_sees_it(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org(
            "ann", name="Watch", members={"adam": "admin", "viv": "viewer", "mel": "member", "sam": "member"}
        )
        other = await api.org("bea", name="Other", members={"bob": "member"})
        await api.subscribe(org, "ann", tier="standard")
        store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=3), 4, prefix=f"{org}-mel"))
        sam = ai_events(org, "sam", JUNE - timedelta(hours=3), 2, model="gpt-4o-mini", prefix=f"{org}-sam")
        store(warehouse, sam)
        store(warehouse, sam)  # delivered twice: counted once
        store(warehouse, ai_events(other, "bob", JUNE - timedelta(hours=3), 50, prefix=f"{other}-bob"))
        await c.put(
            f"{ORGS}/{org}/ai-controls/members/mel", json={"monthly_spend_cap": "0.02"}, headers=api.as_user("ann", org)
        )
        url = f"{ORGS}/{org}/usage/members"

        for who in ("ann", "adam", "viv"):
            r = await c.get(url, headers=api.as_user(who, org))
            assert r.status_code == 200, r.text
        got = r.json()
        assert got["scope"] == "organization" and got["period"]["key"] == "2026-06"
        rows = {m["user_id"]: m for m in got["members"]}
        assert set(rows) == {"ann", "adam", "viv", "mel", "sam"}  # members without use too
        assert [m["user_id"] for m in got["members"]][:2] == ["mel", "sam"]  # by spend
        mel, sam = rows["mel"], rows["sam"]
        assert (mel["ai_requests"], mel["input_tokens"], mel["output_tokens"], mel["ai_spend"]) == (
            "4",
            4000,
            2000,
            "0.0300",
        )
        assert mel["cap"]["reached"] == ["spend"] and mel["cap"]["alerts"] == ["spend_80", "spend_100"]
        assert mel["cap"]["mode"] == "alert"
        # 2 gpt-4o-mini: 2,000 x 0.15/M + 1,000 x 0.60/M = $0.0009; the replayed ids count once.
        assert sam["ai_requests"] == "2" and sam["ai_spend"] == "0.0009" and sam["cap"] is None
        assert [(x["provider"], x["model"], x["requests"]) for x in sam["by_model"]] == [("openai", "gpt-4o-mini", "2")]
        assert rows["viv"]["ai_requests"] == "0" and rows["viv"]["role"] == "viewer"
        assert got["organization"]["ai_requests"] == "6" and got["organization"]["ai_spend"] == "0.0309"
        assert {x["model"] for x in got["organization"]["by_model"]} == {"gpt-4o", "gpt-4o-mini"}

        # A member sees only themself; a member's key nobody; outsiders nothing.
        r = await c.get(url, headers=api.as_user("mel", org))
        assert r.status_code == 200
        assert r.json()["scope"] == "self" and r.json()["organization"] is None
        assert [m["user_id"] for m in r.json()["members"]] == ["mel"]
        assert (await c.get(url, headers=await api.key(org, "ann", "member"))).status_code == 403
        for headers, status in [
            (api.as_user("bob", other), 404),
            (api.as_user("bea", other), 404),
            (await api.key(other, "bea", "admin"), 404),
            (api.as_user("eve"), 404),
            ({}, 401),
        ]:
            assert (await c.get(url, headers=headers)).status_code == status, headers
        # Nor does the other organization see A's use in its own.
        r = await c.get(f"{ORGS}/{other}/usage/members", headers=api.as_user("bea", other))
        assert {m["user_id"] for m in r.json()["members"]} == {"bea", "bob"}


async def test_seat_status_and_cost(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org("olga", name="Seats", members={"mel": "member", "viv": "viewer"})
        owner = api.as_user("olga", org)
        await api.subscribe(org, "olga", tier="enterprise")
        await api.invite(org, "ian", "member", owner)
        store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=1), 1, prefix=f"{org}-mel"))
        store(warehouse, ai_events(org, "olga", JUNE - timedelta(hours=1), 1, prefix=f"{org}-olga"))
        r = await c.get(f"{ORGS}/{org}/seats", headers=owner)
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["tier"], got["seat_basis"], got["active"], got["billed"]) == ("enterprise", "active", 2, 2)
        assert got["seat_price"] == "50.00"
        assert got["seat_charge"] == "100.00"
        assert [(x["user_id"], x["status"], x["cost"]) for x in got["seats"]] == [
            ("mel", "active", "50.00"),
            ("olga", "active", "50.00"),
            ("viv", "provisioned", "0.00"),
            ("ian", "invited", "0.00"),
        ]
        assert (await c.get(f"{ORGS}/{org}/seats", headers=api.as_user("viv", org))).status_code == 200
        assert (await c.get(f"{ORGS}/{org}/seats", headers=api.as_user("mel", org))).status_code == 403
        assert (await c.get(f"{ORGS}/{org}/seats", headers=api.as_user("eve"))).status_code == 404


async def test_seats_on_the_provisioned_basis_count_members_who_left(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org("olga", name="Prov", members={"mel": "member", "bob": "member"})
        owner = api.as_user("olga", org)
        r = await c.post("/api/billing/subscriptions/create", json={"tier": "enterprise"}, headers=owner)
        assert r.status_code == 201, r.text
        r = await c.put(
            f"/api/billing/subscriptions/{r.json()['id']}/contract",
            json={"contract": {"seat_basis": "provisioned"}},
            headers=api.as_operator(),
        )
        assert r.status_code == 200, r.text
        api.clock.advance(timedelta(hours=1))
        assert (await c.delete(f"{ORGS}/{org}/members/bob", headers=owner)).status_code == 204
        store(warehouse, ai_events(org, "mel", JUNE + timedelta(minutes=5), 1, prefix=f"{org}-mel"))
        got = (await c.get(f"{ORGS}/{org}/seats", headers=owner)).json()
        # Three members at once this period (bob left since): three seats, whoever used anything.
        assert (got["seat_basis"], got["active"], got["billed"], got["seat_charge"]) == ("provisioned", 1, 3, "150.00")
        assert [(x["user_id"], x["role"], x["status"], x["cost"]) for x in got["seats"]] == [
            ("mel", "member", "active", "50.00"),
            ("bob", None, "provisioned", "50.00"),
            ("olga", "owner", "provisioned", "50.00"),
        ]


async def test_an_enterprise_plan_bills_seats_before_anyone_is_counted(make_api: Callable[..., Any]) -> None:
    # "null: the tier bills no seats": an Enterprise organization nobody has used yet this period still has a seat
    # price (its first bracket's), nothing billed; a contract's minimum bills that many at once.
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org("olga", name="Quiet", members={"viv": "viewer"})
        owner = api.as_user("olga", org)
        await api.subscribe(org, "olga", tier="enterprise")
        got = (await c.get(f"{ORGS}/{org}/seats", headers=owner)).json()
        assert (got["seat_basis"], got["active"], got["billed"]) == ("active", 0, 0)
        assert (got["seat_price"], got["seat_charge"]) == ("50.00", "0.00")

        subs = (await c.get(f"{ORGS}/{org}/subscriptions", headers=owner)).json()["subscriptions"]
        contract = {"contract": {"seat_basis": "provisioned", "minimum_seats": 5}}
        r = await c.put(
            f"/api/billing/subscriptions/{subs[0]['id']}/contract", json=contract, headers=api.as_operator()
        )
        assert r.status_code == 200, r.text
        got = (await c.get(f"{ORGS}/{org}/seats", headers=owner)).json()
        assert (got["seat_basis"], got["billed"], got["seat_price"], got["seat_charge"]) == (
            "provisioned",
            5,
            "50.00",
            "250.00",
        )

        await api.subscribe(other := await api.org("sam", name="Standard Co"), "sam", tier="standard")
        got = (await c.get(f"{ORGS}/{other}/seats", headers=api.as_user("sam", other))).json()
        assert (got["billed"], got["seat_price"]) == (0, None)  # Standard has no seat price
