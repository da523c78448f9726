"""Provisioned seats through the API (issue 15; docs/rating.md "Seats"): every membership change (the owner at
creation, an accepted invitation, a removal) is kept in the membership history, a role change is not; an operator
puts a contract on the ``provisioned`` basis and the upcoming invoice and the live usage count the most members the
organization had at once in the period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rating.seats import Membership
from streams.store import memberships

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
DAY = timedelta(days=1)
BASE = "/api/billing/subscriptions"


async def test_membership_history_and_provisioned_seats(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"ada": "admin", "bob": "member", "cid": "viewer"})
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        contract = {"contract": {"seat_basis": "provisioned"}}
        r = await api.client.put(f"{BASE}/{sid}/contract", json=contract, headers=api.as_operator())
        assert r.status_code == 200, r.text
        assert r.json()["contract"]["seat_basis"] == "provisioned"

        api.clock.advance(2 * DAY)  # 06-12: dan and eli join -> 6 members, the peak
        for user in ("dan", "eli"):
            await api.join(org, user, "member", owner)
        api.clock.advance(DAY)  # 06-13: bob, cid and dan leave -> 3
        for user in ("bob", "cid", "dan"):
            r = await api.client.delete(f"/api/billing/organizations/{org}/members/{user}", headers=owner)
            assert r.status_code == 204, r.text
        api.clock.advance(DAY)  # 06-14: fay joins -> 4; ada's role change is no membership change
        await api.join(org, "fay", "member", owner)
        r = await api.client.put(
            f"/api/billing/organizations/{org}/members/ada", json={"role": "member"}, headers=owner
        )
        assert r.status_code == 200, r.text

        with api.ctx.sessions() as s:
            spans = memberships.history(s, org)
            during = memberships.members_during(s, org, NOW + 3 * DAY, NOW + 30 * DAY)
        assert spans == [
            Membership("olga", NOW),
            Membership("ada", NOW),
            Membership("bob", NOW, NOW + 3 * DAY),
            Membership("cid", NOW, NOW + 3 * DAY),
            Membership("dan", NOW + 2 * DAY, NOW + 3 * DAY),
            Membership("eli", NOW + 2 * DAY),
            Membership("fay", NOW + 4 * DAY),
        ]
        assert [m.user_id for m in during] == ["ada", "olga", "eli", "fay"]  # from 06-13 12:00 on

        # The period 06-10 .. 07-10: 6 members at most (06-12 .. 06-13), though 4 are members now
        # and nobody used the platform: 6 x $50 = $300.
        r = await api.client.get(f"/api/billing/invoices/upcoming?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        [seats] = [ln for ln in r.json()["lines"] if ln["code"] == "seats"]
        assert (seats["quantity"], seats["unit_price"], seats["amount"]) == ("6", "50", "300.00")
        assert seats["description"] == "6 provisioned seats"
        r = await api.client.get(f"/api/billing/usage/current?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        [live] = [m for m in r.json()["metrics"] if m["metric"] == "active_user"]
        assert live["used"] == "6"

        # Back to the active basis (the default): nobody was active, so no seats line at all.
        api.clock.advance(DAY)
        r = await api.client.put(f"{BASE}/{sid}/contract", json={"contract": {}}, headers=api.as_operator())
        assert r.status_code == 200, r.text
        r = await api.client.get(f"/api/billing/usage/current?account={org}", headers=owner)
        [live] = [m for m in r.json()["metrics"] if m["metric"] == "active_user"]
        assert live["used"] == "0"
