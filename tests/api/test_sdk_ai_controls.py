"""Gateways that check locally (the SDK's ``EntitlementCache.check``) refuse what the API refuses: the API
publishes the AI controls on change and the cap watcher the hard cap state, through the outbox, to the run's real
``billing.quota-state``; the SDK's follower reads them within seconds (docs/ai-controls.md)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from rating.quota import quota_state
from schemas import ai_rules
from schemas.sdk import EntitlementCache, LocalEntitlement, QuotaStateFollower
from streams.api.warehouse import Warehouse
from streams.store.relays.quota_records import QuotaRecordRelay
from streams.topics import QUOTA_STATE
from tests.api.test_ai_caps import JUNE, ai_events, allowed, store
from tests.api.test_sdk_entitlements import _until
from tests.support.api import Api

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"


@contextlib.asynccontextmanager
async def local_check(api: Api, *accounts: str) -> AsyncIterator[EntitlementCache]:
    """The SDK's cache, following the run's ``billing.quota-state`` once the live stage's ``ai_requests`` answer of
    each account (entitled, well under any limit) is on it."""
    topic = api.settings.topic(QUOTA_STATE)
    owner = api.as_user("ann", accounts[0])
    period = (await api.client.get(f"/api/billing/entitlements/{accounts[0]}/ai_requests", headers=owner)).json()
    tier = api.ctx.catalog.at(api.clock()).tiers["standard"]
    producer = AIOKafkaProducer(bootstrap_servers=api.settings.kafka_bootstrap)
    await producer.start()
    follower = QuotaStateFollower(api.settings.kafka_bootstrap, topic, EntitlementCache(max_age=60))
    try:
        for account in accounts:
            rule = tier.metrics["ai_requests"]
            state = quota_state(account, "ai_requests", period["period"], rule, 60, Decimal(1), JUNE)
            await producer.send_and_wait(topic, orjson.dumps(state.to_record()), key=f"{account}:ai_requests".encode())
        await follower.start()
        yield follower.cache
    finally:
        await follower.stop()
        await producer.stop()


async def test_a_control_changed_or_a_cap_reached_changes_the_local_answer(
    make_api: Callable[..., Any], warehouse: Warehouse, store_url: str
) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the SDK reads Kafka only: one store is enough")
    async with make_api(now=JUNE, kafka=True, run_relay=True) as api:
        c = api.client
        org = await api.org("ann", name="Local", members={"mel": "member", "sam": "member"})
        other = await api.org("bea", name="Other")
        await api.subscribe(org, "ann", tier="standard")
        owner, gateway = api.as_user("ann", org), await api.key(org, "ann", "member")
        async with local_check(api, org, other) as cache:

            def local(account: str = org, **params: str) -> tuple[bool, str | None] | None:
                answer: LocalEntitlement | None = cache.check(account, "ai_requests", **params)
                return None if answer is None else (answer.allowed, answer.reason)

            await _until(lambda: local() == (True, None), "the SDK has the metric")
            assert local(user_id="mel", provider="mistral") == (True, None)

            # The organization allows only OpenAI; mel only gpt-4o: the local answer follows, as the API's does.
            r = await c.put(f"{ORGS}/{org}/ai-controls", json={"allowed_providers": ["openai"]}, headers=owner)
            assert r.status_code == 200, r.text
            r = await c.put(f"{ORGS}/{org}/ai-controls/members/mel", json={"allowed_models": ["gpt-4o"]}, headers=owner)
            assert r.status_code == 200, r.text
            await _until(lambda: local(provider="mistral") == (False, "provider_not_allowed"), "the org's control")
            await _until(lambda: local(user_id="mel", model="o1") == (False, "model_not_allowed"), "mel's control")
            for params in (
                {"provider": "mistral"},
                {"user_id": "mel", "model": "o1"},
                {"user_id": "sam", "model": "o1"},
                {"user_id": "mel", "provider": "openai", "model": "gpt-4o"},
            ):
                assert local(**params) == await allowed(api, org, gateway, "ai_requests", **params), params
            assert local(other, provider="mistral") == (True, None)  # another organization is not bound

            # mel's hard cap of 10 requests is reached: the cap watcher publishes it, the SDK refuses mel only.
            store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=1), 10, prefix=f"{org}-mel"))
            r = await c.put(
                f"{ORGS}/{org}/ai-controls/members/mel",
                json={"monthly_request_cap": 10, "cap_mode": "hard"},
                headers=owner,
            )
            assert r.status_code == 200, r.text
            await _until(lambda: local(user_id="mel") == (False, "ai_cap_reached"), "the cap reached")
            assert await allowed(api, org, gateway, "ai_requests", user_id="mel") == (False, "ai_cap_reached")
            assert local(user_id="sam") == (True, None) and local() == (True, None)

            # Switched to alert-only: allowed again, locally too.
            r = await c.put(
                f"{ORGS}/{org}/ai-controls/members/mel",
                json={"monthly_request_cap": 10, "cap_mode": "alert"},
                headers=owner,
            )
            await _until(lambda: local(user_id="mel") == (True, None), "the cap lifted")


async def test_a_failed_publish_keeps_the_records_and_the_subscription_relay_leaves_them(
    make_api: Callable[..., Any], store_url: str
) -> None:
    async with make_api() as api:
        org = await api.org("ann", members={"mel": "member"})
        owner = api.as_user("ann", org)
        r = await api.client.put(
            f"{ORGS}/{org}/ai-controls", json={"disabled_features": ["deep_research"]}, headers=owner
        )
        assert r.status_code == 200, r.text
        r = await api.client.put(f"{ORGS}/{org}/ai-controls", json={"allowed_models": ["gpt-4o"]}, headers=owner)
        assert r.status_code == 200, r.text

        async def down(records: list[tuple[bytes, bytes]]) -> None:
            raise ConnectionError("kafka is down")

        with pytest.raises(ConnectionError):
            await QuotaRecordRelay(api.ctx.sessions, down).run_once()
        assert await api.app.state.relay.drain() >= 0  # the subscriptions' relay does not take them
        sent: list[tuple[bytes, bytes]] = []

        async def keep(records: list[tuple[bytes, bytes]]) -> None:
            sent.extend(records)

        assert await QuotaRecordRelay(api.ctx.sessions, keep).drain() == 2
        assert [k for k, _ in sent] == [ai_rules.controls_key(org, "*")] * 2
        last = orjson.loads(sent[-1][1])  # in order: the newest is last, and compaction keeps it
        assert (last["kind"], last["v"], last["disabled_features"], last["allowed_models"]) == (
            "ai_controls",
            1,
            [],
            ["gpt-4o"],
        )
        assert await QuotaRecordRelay(api.ctx.sessions, keep).drain() == 0


async def test_the_cap_watcher_publishes_a_cap_state_once_per_change(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=JUNE) as api:
        org = await api.org("ann", members={"mel": "member"})
        owner = api.as_user("ann", org)
        await api.subscribe(org, "ann", tier="standard")
        store(warehouse, ai_events(org, "mel", JUNE - timedelta(hours=1), 3, prefix=f"{org}-w"))
        sent: list[tuple[bytes, bytes]] = []

        async def keep(records: list[tuple[bytes, bytes]]) -> None:
            sent.extend(records)

        async def states() -> list[tuple[str, bool]]:
            sent.clear()
            await QuotaRecordRelay(api.ctx.sessions, keep).drain()
            caps = [orjson.loads(v) for k, v in sent if k.startswith(b"@ai_cap:")]
            return [(c["user_id"], c["reached"]) for c in caps]

        async def put(body: dict[str, Any]) -> None:
            r = await api.client.put(f"{ORGS}/{org}/ai-controls/members/mel", json=body, headers=owner)
            assert r.status_code == 200, r.text

        await put({"monthly_request_cap": 3, "cap_mode": "hard"})
        watcher = api.app.state.ai_caps
        watcher.run_once()
        assert await states() == [("mel", True)]
        watcher.run_once()
        assert await states() == []  # unchanged: nothing more
        await put({"monthly_request_cap": 3, "cap_mode": "alert"})  # alert-only never refuses
        watcher.run_once()
        assert await states() == [("mel", False)]
        await put({"monthly_request_cap": 3, "cap_mode": "hard"})
        watcher.run_once()
        assert await states() == [("mel", True)]
        await put({})  # the cap removed: the organization has none left, the state is withdrawn
        watcher.run_once()
        assert await states() == [("mel", False)]
