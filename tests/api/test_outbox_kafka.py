"""The outbox: every change is committed with its versions and outbox rows; the relay publishes them to
the real ``billing.subscriptions`` (this run's topic prefix), so a crash between the write and the
publish, or a Kafka outage, loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from streams.store.models import OutboxRow
from streams.store.relays.outbox import OutboxRelay
from streams.subscriptions.registry import load_registry
from streams.topics import SUBSCRIPTIONS
from tests.support.api import Api

pytestmark = pytest.mark.integration


def pending(api: Api) -> list[OutboxRow]:
    with api.ctx.sessions() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.sent_at.is_(None)).order_by(OutboxRow.id)))


async def test_a_crash_before_the_publish_loses_nothing(make_api: Callable[..., Any]) -> None:
    async with make_api(kafka=True) as api:
        org = await api.org("kim")
        h = api.as_user("kim", org)
        r = await api.client.post("/api/billing/subscriptions/create", json={"tier": "free"}, headers=h)
        sid = r.json()["id"]
        api.clock.advance(timedelta(hours=1))
        r = await api.client.put(f"/api/billing/subscriptions/{sid}", json={"tier": "standard"}, headers=h)
        assert r.status_code == 200
        assert len(pending(api)) == 2  # committed, not published: the process "dies" here

        # Kafka refuses first: the rows stay pending, with the error recorded.
        async def down(_: list[Any]) -> None:
            raise ConnectionError("broker unreachable")

        with pytest.raises(ConnectionError):
            await OutboxRelay(api.ctx.sessions, down).run_once()
        rows = pending(api)
        assert len(rows) == 2 and all(r.attempts == 1 and "unreachable" in (r.last_error or "") for r in rows)

    # A restarted API on the same store publishes what the outbox holds.
    async with make_api(kafka=True) as api:
        assert len(pending(api)) == 2
        assert await api.app.state.relay.drain() == 2
        assert pending(api) == []
        assert await api.app.state.relay.drain() == 0
        registry = await load_registry(api.settings.kafka_bootstrap, api.settings.topic(SUBSCRIPTIONS))
        history = registry.history(org)
        assert history is not None
        assert [(v.tier, v.status) for v in history.versions] == [("free", "active"), ("standard", "active")]
        assert history.versions[1].version > history.versions[0].version


async def test_the_running_relay_publishes_each_change(make_api: Callable[..., Any]) -> None:
    async with make_api(kafka=True, run_relay=True, api_outbox_interval_seconds=30.0) as api:
        org = await api.org("lee")
        h = api.as_user("lee", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "interval": "year"}, headers=h
        )
        sid = r.json()["id"]
        r = await api.client.post(f"/api/billing/subscriptions/{sid}/cancel", headers=h)
        cancel_at = datetime.fromisoformat(r.json()["cancel_at"])
        topic = api.settings.topic(SUBSCRIPTIONS)
        for _ in range(100):  # woken by the commit, long before its 30 s timer
            if not pending(api):
                break
            await asyncio.sleep(0.1)
        assert pending(api) == []
        history = (await load_registry(api.settings.kafka_bootstrap, topic)).history(org)
        assert history is not None
        assert history.at(datetime.now(UTC)).status == "active"  # type: ignore[union-attr]
        assert history.at(cancel_at).status == "canceled"  # type: ignore[union-attr]
        assert history.at(cancel_at).interval == "year"  # type: ignore[union-attr]


async def test_a_row_of_a_topic_no_relay_knows_is_marked_and_left_unsent(make_api: Callable[..., Any]) -> None:
    """The subscriptions' relay takes every row but the quota-state relay's: one of a topic it cannot publish is
    marked with why, never sent, and does not hold back the versions beside it."""
    async with make_api() as api:
        org = await api.org("uma")
        with api.ctx.sessions.begin() as s:
            s.add(OutboxRow(topic="billing.nonsense", key="k", payload={}, created_at=api.clock.now, attempts=0))
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "free"}, headers=api.as_user("uma", org)
        )
        assert r.status_code == 201, r.text
        published: list[Any] = []

        async def publish(versions: list[Any]) -> None:
            published.extend(versions)

        assert await OutboxRelay(api.ctx.sessions, publish).run_once() == 1
        assert [v.account_id for v in published] == [org]
        [odd] = pending(api)
        assert (odd.topic, odd.attempts, odd.last_error) == ("billing.nonsense", 1, "unknown topic: left unsent")
