"""``GET /api/billing/plans`` on the real app: the default catalog's tiers side by side, with no credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_plans_side_by_side(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        r = await api.client.get("/api/billing/plans")  # public: no credentials
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["currency"] == "usd" and body["catalog_version"]
        plans = {p["tier"]: p for p in body["plans"]}
        assert list(plans) == ["free", "standard", "enterprise"]
        # Every metric and feature the plans name has its name as people read it, from the catalog.
        named = {m["metric"] for p in body["plans"] for m in p["metrics"]}
        assert named <= set(body["metric_names"]) and body["metric_names"]["api_calls"] == "API calls"
        features = {f for p in body["plans"] for f in p["features"]}
        features |= {f for p in body["plans"] for m in p["metrics"] for f in m["per_feature"]}
        assert features <= set(body["feature_names"]), features - set(body["feature_names"])
        assert (body["feature_names"]["ai_twin"], body["feature_names"]["deep_research"]) == (
            "AI twin",
            "Deep research",
        )
        free, std, ent = plans["free"], plans["standard"], plans["enterprise"]
        assert free["is_default"] and not std["is_default"]
        assert (std["monthly_price"], std["annual_price"], std["annual_saving"]) == ("49.99", "499.90", "99.98")
        assert free["annual_saving"] is None  # nothing to save on a free plan
        assert ent["monthly_price"] is None and ent["annual_price"] == "10000"
        assert ent["seats"]["mode"] == "volume" and ent["seats"]["brackets"][0] == {
            "up_to": "100",
            "unit_amount": "50",
            "flat_amount": "0",
        }
        calls = {m["metric"]: m for m in std["metrics"]}["api_calls"]
        assert (calls["included"], calls["overage_unit_price"], calls["hard_cap"]) == ("100000", "0.01", None)
        assert {m["metric"]: m for m in free["metrics"]}["api_calls"]["hard_cap"] == "10000"
        assert not {m["metric"]: m for m in free["metrics"]}["ai_requests"]["entitled"]
        premium = {m["metric"]: m for m in std["metrics"]}["premium_feature"]
        assert premium["per_feature"]["deep_research"] == "0.50"
        assert (
            std["rate_limit_per_minute"] == 600 and "ai_twin" in std["features"] and "ai_twin" not in free["features"]
        )
        assert std["collection"] == "charge_automatically" and ent["days_until_due"] == 30
        # The same for anyone: credentials (even forged ones) change nothing; nothing of an account shows.
        forged = await api.client.get("/api/billing/plans", headers={"authorization": "Bearer forged"})
        assert forged.json() == body
