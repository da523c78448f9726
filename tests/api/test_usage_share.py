"""``GET /api/billing/usage/share``: a member's own settled usage this period (real chDB, settled by the real
settler); a member reads only their own share, owners, admins and viewers anyone's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.api.warehouse import Warehouse
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration


async def test_a_member_reads_their_own_share_and_nobody_elses(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=datetime(2030, 6, 1, tzinfo=UTC)) as api:
        org = await api.org("ann", members={"m1": "member", "m2": "member", "v1": "viewer"})
        other = await api.org("eve", members={"e1": "member"})
        owner = api.as_user("ann", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2030-06-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        at = datetime(2030, 6, 2, 9, tzinfo=UTC)
        block = event_block(org, "m1", org, "api_calls", at, [5, 7], id_prefix=f"{org}-m1")
        block += event_block(org, "m2", org, "api_calls", at, [100], id_prefix=f"{org}-m2")
        block += event_block(org, "m1", org, "ai_requests", at, [3], id_prefix=f"{org}-m1ai")
        # The previous period's use is not this period's share.
        block += event_block(
            org, "m1", org, "api_calls", datetime(2030, 5, 20, tzinfo=UTC), [1000], id_prefix=f"{org}-may"
        )
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        # 2030: how far usage is settled is the warehouse's (the latest run's), shared with the other tests of the
        # session, which settle nothing later; this run is the watermark.
        api_settler(api, client, lambda: [org]).settle(datetime(2030, 6, 3, tzinfo=UTC), datetime.now(UTC))
        # Today's use, stored but not settled yet: live, provisional (a replay of one event counted once).
        ten = datetime(2030, 6, 3, 10, tzinfo=UTC)
        m1_today = event_block(org, "m1", org, "api_calls", ten, [4], id_prefix=f"{org}-t1")
        m2_today = event_block(org, "m2", org, "api_calls", ten, [9], id_prefix=f"{org}-t2")
        client.raw_insert(f"{CH_DB}.events", None, insert_block=m1_today + m2_today + m1_today, fmt="JSONEachRow")
        api.clock.now = datetime(2030, 6, 3, 12, tzinfo=UTC)

        def url(user: str, account: str = org) -> str:
            return f"/api/billing/usage/share?account={account}&user_id={user}"

        member = api.as_user("m1", org)
        r = await api.client.get(url("m1"), headers=member)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["account_id"], doc["user_id"]) == (org, "m1")
        assert doc["period"]["start"] == "2030-06-01T00:00:00Z"
        assert doc["settled_until"] == "2030-06-03T00:00:00Z"
        used = {m["metric"]: m["used"] for m in doc["metrics"]}
        settled = {m["metric"]: m["settled"] for m in doc["metrics"]}
        assert (used["api_calls"], used["ai_requests"]) == ("16", "3")
        assert (settled["api_calls"], settled["ai_requests"]) == ("12", "3")
        assert doc["as_of"] == "2030-06-03T12:00:00Z"
        # The plan's other metrics show as nothing used; seats are the organization's, not a member's.
        assert used["storage_gb"] == "0"
        assert "active_user" not in used
        # Nothing of the organization's: no allowances, charges, totals or plan.
        assert set(doc) == {"account_id", "user_id", "period", "as_of", "settled_until", "metrics"}
        assert set(doc["metrics"][0]) == {"metric", "used", "settled"}

        # The attackers: a member asking for another member's share, another organization's member or owner
        # asking for this one's (with or without a stolen user id), nobody signed in.
        assert (await api.client.get(url("m2"), headers=member)).status_code == 403
        assert (await api.client.get(url("m1"), headers=api.as_user("e1", other))).status_code in (403, 404)
        assert (await api.client.get(url("m1"), headers=api.as_user("eve", other))).status_code in (403, 404)
        assert (await api.client.get(url("m1"))).status_code == 401
        # A member of another organization asking for their own share of this one: not theirs to read.
        assert (await api.client.get(url("e1"), headers=api.as_user("e1", other))).status_code in (403, 404)

        # Owners and viewers read any member's share.
        for reader in (owner, api.as_user("v1", org)):
            r = await api.client.get(url("m2"), headers=reader)
            assert r.status_code == 200, r.text
            assert {m["metric"]: m["used"] for m in r.json()["metrics"]}["api_calls"] == "109"
