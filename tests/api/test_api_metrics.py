"""The billing API's own metrics: its responses by status class, what the body limit refuses included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_the_api_counts_its_responses_by_status_class(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        registry = api.ctx.metrics.registry

        def count(code: str) -> float:
            return registry.get_sample_value("meterline_api_responses_total", {"code": code}) or 0.0

        before = {code: count(code) for code in ("2xx", "4xx", "5xx")}
        assert (await api.client.get("/api/billing/healthz")).status_code == 200
        assert (await api.client.get("/api/billing/subscriptions/nope")).status_code // 100 == 4
        big = b'{"tier": "' + b"x" * 70_000 + b'"}'
        r = await api.client.post(
            "/api/billing/subscriptions/create", content=big, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413  # refused by the body limit, before any route
        assert count("2xx") - before["2xx"] == 1
        assert count("4xx") - before["4xx"] == 2
        assert count("5xx") == before["5xx"]
