"""``GET /api/billing/recommendations`` and ``GET /api/billing/ai-mix`` on settled data (real chDB): each
saving is the difference of the invoices the rating code computes; shown from the configured minimum; read
only by who may read the invoices (recommendations) or by platform operators (the platform's AI cost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rating.periods import Period
from streams.api.warehouse import Warehouse
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
MAR = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 16, tzinfo=UTC)  # at the settled watermark: whole days (the warehouse is shared)
AI = {"provider": "openai", "model": "gpt-4o", "input_tokens": "100000", "output_tokens": "50000"}


async def _world(api: Any, warehouse: Warehouse) -> tuple[str, str, Any]:
    """An organization on standard since March 1: 400 deep research uses, 1,000 calls and one AI call of
    100 requests (100,000 input and 50,000 output tokens on openai/gpt-4o) a day, to June 15."""
    org = await api.org("rita", members={"mo": "member", "vi": "viewer", "ad": "admin"})
    other = await api.org("oscar")
    r = await api.client.post(
        "/api/billing/subscriptions/create",
        json={"tier": "standard", "anchor": "2026-03-01"},
        headers=api.as_user("rita", org),
    )
    assert r.status_code == 201, r.text
    day, block = MAR + timedelta(hours=9), b""
    while day < datetime(2026, 6, 16, tzinfo=UTC):
        p = f"{org}-rc"
        block += event_block(org, "rita", org, "api_calls", day, [1000], id_prefix=p)
        feature = {"feature": "deep_research"}
        block += event_block(org, "rita", org, "premium_feature", day, [400], id_prefix=f"{p}f", properties=feature)
        block += event_block(org, "rita", org, "ai_requests", day, [100], id_prefix=f"{p}a", properties=AI)
        day += timedelta(days=1)
    client = warehouse._open()
    client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
    settler = api_settler(api, client, lambda: [org])
    settler.settle(datetime(2026, 6, 16, tzinfo=UTC), datetime.now(UTC))
    api.clock.now = NOW
    return org, other, settler


async def test_savings_are_differences_of_invoices_and_strangers_are_refused(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAR, recommendation_min_saving=Decimal(50)) as api:
        org, other, settler = await _world(api, warehouse)
        url = f"/api/billing/recommendations?account={org}"
        r = await api.client.get(url, headers=api.as_user("rita", org))
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["tier"], doc["min_saving"], doc["currency"]) == ("standard", "50.00", "usd")
        by_kind = {rec["kind"]: rec for rec in doc["recommendations"]}
        assert list(by_kind) == ["contract", "annual"]  # largest saving first

        # The contract price: March-May settled (31 + 30 + 31 days) and June forecast (30 days, flat usage:
        # exactly 12,000) is 48,800 deep research uses; 20 % off $0.50 saves $0.10 a use.
        contract = by_kind["contract"]
        assert (contract["saving"], contract["periods"]) == ("4880.00", 4)
        months = [
            (MAR, datetime(2026, 4, 1, tzinfo=UTC)),
            (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),
        ]
        months += [(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))]
        settled = sum((settler.invoice(org, Period(a, b)).total for a, b in months), Decimal(0))
        forecast = (
            await api.client.get(f"/api/billing/forecast?account={org}", headers=api.as_user("rita", org))
        ).json()
        assert Decimal(contract["current_total"]) == settled + Decimal(forecast["total"]["expected"])
        assert Decimal(contract["current_total"]) - Decimal(contract["alternative_total"]) == Decimal("4880.00")

        # Annual: twelve monthly base fees ($599.88) against the yearly one ($499.90), the same usage.
        assert by_kind["annual"]["saving"] == "99.98"

        # Admins and viewers read the invoices, so the recommendations too; a member, another organization's
        # owner, a made-up account and an anonymous caller do not.
        for reader in ("ad", "vi"):
            assert (await api.client.get(url, headers=api.as_user(reader, org))).status_code == 200
        for who in (api.as_user("mo", org), api.as_user("oscar", other)):
            assert (await api.client.get(url, headers=who)).status_code in (403, 404)
        r = await api.client.get(
            "/api/billing/recommendations?account=org_doesnotexist", headers=api.as_user("rita", org)
        )
        assert r.status_code in (403, 404)
        assert (await api.client.get(url)).status_code == 401

        # The platform's AI mix: operators only, even the organization's owner is refused.
        mix_url = f"/api/billing/ai-mix?account={org}"
        assert (await api.client.get(mix_url, headers=api.as_user("rita", org))).status_code == 403
        r = await api.client.get(mix_url, headers=api.as_operator())
        assert r.status_code == 200, r.text
        mix = r.json()
        (model,) = mix["models"]
        # 3,000 requests in June, 1,000 input and 500 output tokens each: 3M x $2.50 + 1.5M x $10 per million
        # = $22.50 on gpt-4o; $1.35 on gpt-4o-mini (3M x $0.15 + 1.5M x $0.60).
        assert (model["model"], model["requests_expected"], model["cost_expected"]) == (
            "openai/gpt-4o",
            "3000",
            "22.50",
        )
        assert (model["cheapest_model"], model["cheapest_cost"], model["saving"]) == (
            "openai/gpt-4o-mini",
            "1.35",
            "21.15",
        )
        assert Decimal(mix["margin_expected"]) == Decimal(mix["revenue_expected"]) - Decimal("22.50")
        r = await api.client.get("/api/billing/ai-mix?account=org_doesnotexist", headers=api.as_operator())
        assert r.status_code == 404


async def test_the_minimum_saving_hides_small_ones(make_api: Callable[..., Any], warehouse: Warehouse) -> None:
    async with make_api(now=MAR, recommendation_min_saving=Decimal(100)) as api:
        org, _, _ = await _world(api, warehouse)
        r = await api.client.get(f"/api/billing/recommendations?account={org}", headers=api.as_user("rita", org))
        assert [rec["kind"] for rec in r.json()["recommendations"]] == ["contract"]  # annual saves 99.98 only
