"""Credit grants and commitments over HTTP (issue 15, item 2): platform operators grant credit, owners and
admins read grants with what remains, members, viewers and other organizations cannot; the upcoming invoice
trues up a commitment and draws the grants as ``credit:<id>`` lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from streams.api.warehouse import Warehouse
from streams.store.models import NoticeRow
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
BASE = "/api/billing/subscriptions"


async def test_operators_grant_admins_read_nobody_else(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"ada": "admin", "mel": "member", "vic": "viewer"})
        other = await api.org("eve", name="Other")
        owner = api.as_user("olga", org)
        sid = (await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)).json()["id"]
        url = f"{BASE}/{sid}/credit-grants"
        body = {"name": "Prepaid 2026", "amount": "1000.00", "expires_at": "2026-07-01T00:00:00Z"}
        admin_key = await api.key(org, "olga", "admin")
        for headers, status in [
            (owner, 403),
            (api.as_user("ada", org), 403),
            (admin_key, 403),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (await api.key(other, "eve", "admin"), 404),
            (api.as_operator(claim="true"), 404),
        ]:
            r = await api.client.post(url, json=body, headers=headers)
            assert r.status_code == status, (headers, r.text)
        r = await api.client.post(url, json=body, headers=api.as_operator())
        assert r.status_code == 201, r.text
        assert (r.json()["amount"], r.json()["remaining"], r.json()["created_by"]) == ("1000", "1000", "operator:ops-1")
        for bad, reason in [
            ({**body, "amount": "0"}, "above 0"),
            ({**body, "amount": "10.001"}, "whole cents"),
            ({**body, "amount": 10.5}, "never as floats"),
            ({**body, "expires_at": "2026-06-01T00:00:00Z"}, "in the future"),
        ]:
            r = await api.client.post(url, json=bad, headers=api.as_operator())
            assert r.status_code == 422 and reason in r.text, (bad, r.text)
        for headers, status in [
            (owner, 200),
            (api.as_user("ada", org), 200),
            (admin_key, 200),
            (api.as_operator(), 200),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
        ]:
            r = await api.client.get(url, headers=headers)
            assert r.status_code == status, (headers, r.text)
            if status == 200:
                assert [g["remaining"] for g in r.json()["data"]] == ["1000"] and r.json()["balance"] == "1000"


async def test_upcoming_invoice_trues_up_and_draws_credit(make_api: Callable[..., Any]) -> None:
    """Hand-worked: no usage, platform fee contracted to $0/year, a $2,500 monthly commitment → a $2,500
    true-up; grants $1,000 (priority 0) and $5,000 (priority 1): -$1,000 then -$1,500, $0 due."""
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        sid = (await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)).json()["id"]
        ops = api.as_operator()
        contract = {"contract": {"platform_fee": {"year": "0"}, "commitment": {"amount": "2500", "per": "period"}}}
        assert (await api.client.put(f"{BASE}/{sid}/contract", json=contract, headers=ops)).status_code == 200
        small = {"name": "Small", "amount": "1000", "priority": 0}
        big = {"name": "Big", "amount": "5000", "priority": 1}
        g1 = (await api.client.post(f"{BASE}/{sid}/credit-grants", json=small, headers=ops)).json()
        g2 = (await api.client.post(f"{BASE}/{sid}/credit-grants", json=big, headers=ops)).json()
        r = await api.client.get(f"/api/billing/invoices/upcoming?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        lines = {ln["code"]: ln["amount"] for ln in r.json()["lines"]}
        assert lines == {
            "commitment_true_up": "2500.00",
            f"credit:{g1['id']}": "-1000.00",
            f"credit:{g2['id']}": "-1500.00",
        }
        assert r.json()["total"] == "0.00"


async def test_settled_invoices_draw_a_grant_down_across_periods(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """Hand-worked: standard tier anchored May 1; May: 150,000 API calls = $49.99 + 50,000 x $0.01 = $549.99,
    a $600 grant pays it all (50.01 left); June so far: $49.99, paid from the 50.01 (0.02 left after)."""
    may = datetime(2026, 5, 1, tzinfo=UTC)
    async with make_api(now=may) as api:
        org = await api.org("ivy")
        h = api.as_user("ivy", org)
        body = {"tier": "standard", "anchor": "2026-05-01"}
        sid = (await api.client.post(f"{BASE}/create", json=body, headers=h)).json()["id"]
        grant = {"name": "Welcome", "amount": "600", "expires_at": "2027-01-01T00:00:00Z"}
        r = await api.client.post(f"{BASE}/{sid}/credit-grants", json=grant, headers=api.as_operator())
        gid = r.json()["id"]
        api.clock.now = datetime(2026, 6, 10, 12, tzinfo=UTC)
        client = warehouse._open()
        client.raw_insert(
            f"{CH_DB}.events",
            None,
            insert_block=event_block(
                org, "u1", org, "api_calls", datetime(2026, 5, 3, 10, tzinfo=UTC), [150000], id_prefix=f"{org}-cg"
            ),
            fmt="JSONEachRow",
        )
        result = api_settler(api, client, lambda: [org]).settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))
        assert f"in_{org}_2026-05" in result.finalized

        doc = (await api.client.get(f"/api/billing/invoices/in_{org}_2026-05", headers=h)).json()
        assert {ln["code"]: ln["amount"] for ln in doc["lines"]} == {
            "base_fee": "49.99",
            "api_calls_overage": "500.00",
            f"credit:{gid}": "-549.99",
        }
        assert doc["total"] == "0.00"
        # 50.01 left of 600 is below 20 % (120): one low-balance alert through the usage-alert path.
        with api.ctx.sessions() as s:
            notices = [(n.kind, n.key, n.context.get("threshold")) for n in s.scalars(select(NoticeRow))]
        assert (
            "usage_alert",
            f"usage_alert:{org}:credit:{gid}:2026-05:credit_low",
            "120.00",
        ) in notices
        listed = (await api.client.get(f"{BASE}/{sid}/credit-grants", headers=h)).json()
        assert (listed["data"][0]["remaining"], listed["balance"]) == ("50.01", "50.01")
        upcoming = (await api.client.get(f"/api/billing/invoices/upcoming?account={org}", headers=h)).json()
        assert {ln["code"]: ln["amount"] for ln in upcoming["lines"]} == {
            "base_fee": "49.99",
            f"credit:{gid}": "-49.99",
        }
