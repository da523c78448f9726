"""The SDK's local entitlement answers (schemas/entitlements.py) against the real Kafka: fed by the run's
``billing.quota-state`` topic, they say what the API's entitlement check says for the same quota state
(allowed, reason, limit, used, remaining, period, as of), follow updates and tombstones, and age out when
the follower stops confirming (its clock is moved, nothing waits)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from rating.quota import quota_state
from schemas.sdk import EntitlementCache, QuotaStateFollower
from streams.topics import QUOTA_STATE

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _until(ok: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if ok():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def test_local_answers_equal_the_api_and_follow_the_topic(make_api: Callable[..., Any], store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the SDK reads Kafka only: one store is enough")
    async with make_api(follow_quota=True) as api:
        org = await api.org("ann")  # no subscription: the free tier
        owner = api.as_user("ann", org)
        period = (await api.client.get(f"/api/billing/entitlements/{org}/api_calls", headers=owner)).json()["period"]
        tier = api.ctx.catalog.at(api.clock()).tiers["free"]
        at = datetime.fromisoformat("2026-12-04T02:00:00+00:00")
        used = {"api_calls": Decimal(10_000), "storage_gb": Decimal("1.5"), "ai_requests": Decimal(3)}
        topic = api.settings.topic(QUOTA_STATE)

        def record(metric: str, quantity: Decimal) -> bytes:
            state = quota_state(org, metric, period, tier.metrics[metric], tier.rate_limit_per_minute, quantity, at)
            return orjson.dumps(state.to_record())

        await _until(lambda: api.ctx.quota.ready.is_set(), "the API follows the quota state")
        producer = AIOKafkaProducer(bootstrap_servers=api.settings.kafka_bootstrap)
        await producer.start()
        clock = Clock()
        follower = QuotaStateFollower(api.settings.kafka_bootstrap, topic, EntitlementCache(max_age=30, clock=clock))
        try:
            for metric, quantity in used.items():
                await producer.send_and_wait(topic, record(metric, quantity), key=f"{org}:{metric}".encode())
            await follower.start()
            cache = follower.cache
            await _until(lambda: all(cache.get(org, m) is not None for m in used), "the SDK has every metric")
            await _until(lambda: all(api.ctx.quota.get(org, m) is not None for m in used), "the API has them")
            for metric in used:
                local = cache.get(org, metric)
                assert local is not None
                remote = (await api.client.get(f"/api/billing/entitlements/{org}/{metric}", headers=owner)).json()
                fields = ("allowed", "reason", "limit", "used", "remaining", "period")
                assert {f: getattr(local, f) for f in fields} == {f: remote[f] for f in fields}, metric
                assert datetime.fromisoformat(local.as_of) == datetime.fromisoformat(remote["as_of"]) == at
                assert local.rate_limit_per_minute == tier.rate_limit_per_minute == 60
            calls, storage, ai = (cache.get(org, m) for m in used)
            assert calls is not None and (calls.allowed, calls.reason, calls.remaining) == (False, "hard_capped", "0")
            assert storage is not None and (storage.allowed, storage.limit, storage.remaining) == (True, "5", "3.5")
            assert ai is not None and (ai.allowed, ai.reason) == (False, "not_entitled")

            # An update and a tombstone reach the local cache as they reach the topic.
            await producer.send_and_wait(topic, record("storage_gb", Decimal(5)), key=f"{org}:storage_gb".encode())
            await _until(lambda: getattr(cache.get(org, "storage_gb"), "allowed", True) is False, "the update")
            await producer.send_and_wait(topic, None, key=f"{org}:ai_requests".encode())
            await _until(lambda: cache.get(org, "ai_requests") is None, "the tombstone")
            assert cache.get("org_of_nobody", "api_calls") is None  # unknown: ask the API
        finally:
            await follower.stop()
            await producer.stop()
        # The follower stopped: nothing confirms the answers any more, and past max_age they are not served.
        assert cache.get(org, "api_calls") is not None
        clock.now += 31
        assert cache.get(org, "api_calls") is None


def test_bounded_and_expiring() -> None:
    clock = Clock()
    cache = EntitlementCache(max_entries=3, max_age=10, clock=clock)

    def rec(account: str, used: str) -> bytes:
        return orjson.dumps(
            {"account_id": account, "metric": "api_calls", "period": "2026-12", "used": used, "included": "10",
             "hard_cap": None, "entitled": True, "hard_capped": False, "as_of": "2026-12-04T00:00:00+00:00"}
        )  # fmt: skip

    for i in range(5):
        cache.apply(f"a{i}:api_calls".encode(), rec(f"a{i}", str(i)))
    assert len(cache) == 3 and cache.get("a0", "api_calls") is None and cache.get("a4", "api_calls") is not None
    cache.apply(b"a2:api_calls", rec("a2", "12"))  # updated: now the newest
    cache.apply(b"a5:api_calls", rec("a5", "0"))
    assert cache.get("a3", "api_calls") is None
    a2 = cache.get("a2", "api_calls")
    assert a2 is not None and (a2.used, a2.remaining, a2.allowed) == ("12", "0", True)  # over included: allowed
    cache.apply(b"a6:api_calls", rec("someone-else", "1"))  # a key that does not match its record: ignored
    assert cache.get("a6", "api_calls") is None and cache.get("someone-else", "api_calls") is None
    clock.now += 10
    assert cache.get("a5", "api_calls") is not None
    clock.now += 0.5
    assert cache.get("a5", "api_calls") is None
    cache.confirm()  # the follower read the topic to its end: current again
    assert cache.get("a5", "api_calls") is not None
