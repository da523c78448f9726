"""The admin panel's analytics (issue 17): an organization's monthly trends from its settled usage and finalized
invoices — usage by month, module and role, AI cost against the AI features its invoices charged, seat
utilisation — read by owners, admins and viewers only, never another organization's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from streams.api.warehouse import Warehouse
from tests.support.api import CH_DB
from tests.support.settled import api_settler

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"


def rows(org: str, user: str, metric: str, at: datetime, n: int, props: dict[str, str], prefix: str) -> bytes:
    return (
        b"\n".join(
            orjson.dumps(
                {
                    "event_id": f"{prefix}-{i}",
                    "account_id": org,
                    "user_id": user,
                    "org_id": org,
                    "metric": metric,
                    "quantity": "1",
                    "ts_ms": int(at.timestamp() * 1000) + i * 1000,
                    "properties": props,
                    "source": "test",
                }
            )
            for i in range(n)
        )
        + b"\n"
    )


async def test_monthly_trends_by_module_and_role(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    may = datetime(2026, 5, 1, tzinfo=UTC)
    async with make_api(now=may) as api:
        c = api.client
        org = await api.org("olga", name="Trends", members={"mel": "member", "viv": "viewer", "sam": "member"})
        other = await api.org("bea", name="Other")
        owner = api.as_user("olga", org)
        r = await c.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        api.clock.now = datetime(2026, 6, 10, 12, tzinfo=UTC)
        client = warehouse._open()
        gpt = {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": "1000",
            "output_tokens": "500",
            "module": "chat",
        }
        for block in (
            rows(org, "mel", "ai_requests", datetime(2026, 5, 3, 10, tzinfo=UTC), 4, gpt, f"{org}-a"),
            rows(
                org,
                "olga",
                "premium_feature",
                datetime(2026, 5, 4, 10, tzinfo=UTC),
                2,
                {"feature": "deep_research", "module": "research"},
                f"{org}-p",
            ),
            rows(org, "mel", "api_calls", datetime(2026, 6, 2, 10, tzinfo=UTC), 3, {"module": "drive"}, f"{org}-c"),
        ):
            client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        settler = api_settler(api, client, lambda: [org])
        settler.settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))

        r = await c.get(f"{ORGS}/{org}/analytics?months=3", headers=api.as_user("viv", org))
        assert r.status_code == 200, r.text
        got = r.json()
        assert [m["month"] for m in got["months"]] == ["2026-04", "2026-05", "2026-06"]
        april, may_, june = got["months"]
        assert april["metrics"] == {} and april["invoiced"] is None and april["members"] == 0
        assert (
            may_["metrics"] == {"active_user": "2", "ai_requests": "4", "premium_feature": "2"}
            or may_["metrics"]["ai_requests"] == "4"
        )
        # 4 gpt-4o requests: 4 x $0.0075; 2 deep_research at $0.50 on May's invoice (base fee 49.99 + 1.00).
        assert (may_["ai_requests"], may_["ai_cost"], may_["ai_billed"], may_["invoiced"]) == (
            "4",
            "0.0300",
            "1.00",
            "50.99",
        )
        assert (may_["active_users"], may_["members"], may_["seat_utilisation"]) == (2, 4, "0.5000")
        assert june["metrics"].get("api_calls") == "3" and june["invoiced"] is None
        modules = {(g["month"], g["group"], g["metric"]): g["quantity"] for g in got["by_module"]}
        assert modules == {
            ("2026-05", "chat", "ai_requests"): "4",
            ("2026-05", "research", "premium_feature"): "2",
            ("2026-06", "drive", "api_calls"): "3",
        }
        roles = {(g["month"], g["group"], g["metric"]): (g["quantity"], g["ai_cost"]) for g in got["by_role"]}
        assert roles[("2026-05", "member", "ai_requests")] == ("4", "0.0300")
        assert roles[("2026-05", "owner", "premium_feature")] == ("2", "0.0000")

        for headers, status in [
            (api.as_user("mel", org), 403),
            (api.as_user("bea", other), 404),
            (await api.key(other, "bea", "admin"), 404),
            ({}, 401),
        ]:
            assert (await c.get(f"{ORGS}/{org}/analytics", headers=headers)).status_code == status
        r = await c.get(f"{ORGS}/{org}/analytics?months=25", headers=owner)
        assert r.status_code == 422
