"""The billing API's own metrics: its responses by status class, what the body limit refuses included."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


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


async def test_the_outbox_gauges_show_what_waits_and_for_how_long(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        registry = api.ctx.metrics.registry

        def read(name: str, outbox: str) -> float | None:
            # read from another thread, as the metrics server does
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(registry.get_sample_value, name, {"outbox": outbox}).result()

        for outbox in ("kafka", "stripe_mirror", "notices", "webhooks"):
            assert read("meterline_api_outbox_pending", outbox) == 0, outbox
            assert read("meterline_api_outbox_oldest_pending_seconds", outbox) == 0, outbox
        org = await api.org("olga")
        r = await api.client.post(
            "/api/billing/subscriptions/create",
            json={"tier": "free", "interval": "month"},
            headers=api.as_user("olga", org),
        )
        assert r.status_code == 201, r.text
        waiting = read("meterline_api_outbox_pending", "kafka")
        assert waiting is not None and waiting >= 1  # the new version, not published: this API's relay is off
        api.clock.advance(timedelta(minutes=10))
        assert read("meterline_api_outbox_oldest_pending_seconds", "kafka") == 600
        assert await api.app.state.relay.drain() >= 1
        assert read("meterline_api_outbox_pending", "kafka") == 0
        assert read("meterline_api_outbox_oldest_pending_seconds", "kafka") == 0
