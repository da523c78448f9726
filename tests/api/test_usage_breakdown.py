"""``GET /api/billing/usage/breakdown``: this period's settled AI requests by provider and model and premium
feature uses with their charges (real chDB, settled by the real settler); readable as live usage is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.api.warehouse import Warehouse
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration


async def test_ai_by_provider_and_model_and_premium_features_with_their_charges(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("ada", members={"m1": "member", "v1": "viewer"})
        other = await api.org("eve")
        owner = api.as_user("ada", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        url = f"/api/billing/usage/breakdown?account={org}"
        empty = (await api.client.get(url, headers=owner)).json()
        assert (empty["ai"], empty["premium_features"], empty["currency"]) == ([], [], "usd")

        at = datetime(2026, 5, 3, 10, tzinfo=UTC)

        def ai(provider: str, model: str, n: int, tag: str) -> bytes:
            props = {"provider": provider, "model": model, "input_tokens": "100", "output_tokens": "20"}
            return event_block(org, "ada", org, "ai_requests", at, [1] * n, id_prefix=f"{org}-{tag}", properties=props)

        block = ai("openai", "gpt-4o", 3, "a") + ai("anthropic", "claude-3/haiku", 2, "b")
        block += event_block(
            org,
            "ada",
            org,
            "premium_feature",
            at,
            [1] * 4,
            id_prefix=f"{org}-p",
            properties={"feature": "deep_research"},
        )
        # Last period's use is not this period's.
        block += event_block(
            org,
            "ada",
            org,
            "ai_requests",
            datetime(2026, 4, 20, tzinfo=UTC),
            [9],
            id_prefix=f"{org}-april",
            properties={"provider": "openai", "model": "gpt-4o"},
        )
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        api_settler(api, client, lambda: [org]).settle(datetime(2026, 5, 4, tzinfo=UTC), datetime.now(UTC))
        api.clock.now = datetime(2026, 5, 4, 12, tzinfo=UTC)

        r = await api.client.get(url, headers=owner)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["period"]["start"] == "2026-05-01T00:00:00Z"
        # The warehouse is shared by the session's tests: another may have settled later than this one.
        assert doc["settled_until"] >= "2026-05-04T00:00:00Z"
        by_model = {(a["provider"], a["model"]): a for a in doc["ai"]}
        assert set(by_model) == {("openai", "gpt-4o"), ("anthropic", "claude-3/haiku")}
        gpt = by_model[("openai", "gpt-4o")]
        assert (gpt["requests"], gpt["input_tokens"], gpt["output_tokens"], gpt["charge"]) == ("3", 300, 60, "0.00")
        assert by_model[("anthropic", "claude-3/haiku")]["requests"] == "2"
        # standard: deep_research at $0.50 a use.
        assert doc["premium_features"] == [
            {"feature": "deep_research", "uses": "4", "unit_price": "0.5", "charge": "2.00"}
        ]

        # Who may not read the organization's usage reads none of it: another org's owner, a member (own
        # usage only), a stolen id with no credentials.
        for who in (api.as_user("eve", other), api.as_user("m1", org)):
            assert (await api.client.get(url, headers=who)).status_code in (403, 404)
        assert (await api.client.get(url)).status_code == 401
        assert (await api.client.get(url, headers=api.as_user("v1", org))).status_code == 200
