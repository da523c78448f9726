"""Entitlements and current usage from the live quota state (real Kafka), usage history and invoices
from settled data (real chDB, settled by ``streams.settlement.settler.Settler`` from the API's own histories)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.api.warehouse import Warehouse
from streams.kafka.admin import ensure_topics
from streams.topics import QUOTA_STATE
from tests.support.api import CH_DB, Api
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration


async def _put_quota(api: Api, account: str, metric: str, used: str, period: str) -> None:
    await ensure_topics(api.settings)
    producer = AIOKafkaProducer(bootstrap_servers=api.settings.kafka_bootstrap)
    await producer.start()
    try:
        record = {
            "account_id": account,
            "metric": metric,
            "period": period,
            "used": used,
            "as_of": datetime.now(UTC).isoformat(),
        }
        await producer.send_and_wait(
            api.settings.topic(QUOTA_STATE), orjson.dumps(record), key=f"{account}:{metric}".encode()
        )
    finally:
        await producer.stop()


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_entitlements_and_current_usage_follow_the_quota_state(make_api: Callable[..., Any]) -> None:
    async with make_api(follow_quota=True) as api:
        std = await api.org("sam")
        free = await api.org("fay", name="Free Co")
        hs, hf = api.as_user("sam", std), api.as_user("fay", free)
        assert (
            await api.client.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=hs)
        ).status_code == 201
        period = (await api.client.get(f"/api/billing/usage/current?account={std}", headers=hs)).json()["period"]["key"]
        await _put_quota(api, std, "api_calls", "100500", period)
        await _put_quota(api, free, "api_calls", "10000", period)
        await _put_quota(api, free, "storage_gb", "1.5", "1999-01")  # another period: not this one's usage
        await _until(lambda: api.ctx.quota.get(free, "storage_gb") is not None)

        r = (await api.client.get(f"/api/billing/entitlements/{std}/api_calls", headers=hs)).json()
        assert (r["allowed"], r["limit"], r["used"], r["remaining"], r["tier"]) == (
            True,
            "100000",
            "100500",
            "0",
            "standard",
        )
        r = (await api.client.get(f"/api/billing/entitlements/{free}/api_calls", headers=hf)).json()
        assert (r["allowed"], r["reason"], r["limit"], r["remaining"], r["tier"]) == (
            False,
            "hard_capped",
            "10000",
            "0",
            "free",
        )
        r = (await api.client.get(f"/api/billing/entitlements/{free}/storage_gb", headers=hf)).json()
        assert (r["allowed"], r["used"], r["remaining"]) == (True, "0", "5")
        r = (await api.client.get(f"/api/billing/entitlements/{free}/ai_requests", headers=hf)).json()
        assert (r["allowed"], r["reason"]) == (False, "not_entitled")
        r = (await api.client.get(f"/api/billing/entitlements/{free}/deep_research", headers=hf)).json()
        assert (r["kind"], r["allowed"]) == ("premium_feature", False)
        r = (await api.client.get(f"/api/billing/entitlements/{std}/deep_research", headers=hs)).json()
        assert (r["kind"], r["allowed"]) == ("premium_feature", True)

        cur = (await api.client.get(f"/api/billing/usage/current?account={std}", headers=hs)).json()
        calls = next(m for m in cur["metrics"] if m["metric"] == "api_calls")
        assert (calls["used"], calls["over_limit"], calls["provisional_charge"]) == ("100500", True, "5.00")
        assert cur["provisional_total"] == "5.00" and cur["live"] is True

        # The gateway asks again and again: every answer is the same (its speed is measured in bench/, not here).
        for _ in range(20):
            again = await api.client.get(f"/api/billing/entitlements/{std}/api_calls", headers=hs)
            assert again.status_code == 200 and again.json()["remaining"] == "0"


def _events(org: str, metric: str, at: datetime, quantities: list[int], user: str) -> bytes:
    return event_block(org, user, org, metric, at, quantities, id_prefix=f"{org}-{metric}")


async def test_usage_history_and_invoices_come_from_settled_data(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    may = datetime(2026, 5, 1, tzinfo=UTC)
    async with make_api(now=may) as api:
        org = await api.org("ivy", members={"u1": "member", "u2": "member"})
        h = api.as_user("ivy", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=h
        )
        assert r.status_code == 201
        api.clock.now = datetime(2026, 6, 10, 12, tzinfo=UTC)

        client = warehouse._open()
        client.raw_insert(
            f"{CH_DB}.events",
            None,
            insert_block=_events(org, "api_calls", datetime(2026, 5, 3, 10, tzinfo=UTC), [60000, 40000], "u1"),
            fmt="JSONEachRow",
        )
        client.raw_insert(
            f"{CH_DB}.events",
            None,
            insert_block=_events(org, "api_calls", datetime(2026, 5, 20, 10, tzinfo=UTC), [50000], "u2"),
            fmt="JSONEachRow",
        )
        client.raw_insert(
            f"{CH_DB}.events",
            None,
            insert_block=_events(org, "api_calls", datetime(2026, 6, 2, 10, tzinfo=UTC), [700], "u1"),
            fmt="JSONEachRow",
        )

        settler = api_settler(api, client, lambda: [org])
        result = settler.settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))
        assert f"in_{org}_2026-05" in result.finalized

        invoices = (await api.client.get(f"/api/billing/invoices?account={org}", headers=h)).json()["invoices"]
        assert [(i["period"], i["status"], i["total"]) for i in invoices] == [("2026-05", "open", "549.99")]
        # Opened in the billing store on first sight: numbered, due on finalization (standard is charged
        # automatically), 549.99 owed in cents.
        first = invoices[0]
        assert (first["number"], first["amount_due"], first["amount_paid"], first["amount_remaining"]) == (
            "ML-000001",
            54_999,
            0,
            54_999,
        )
        assert first["due_date"] == first["issued_at"][:10] == first["finalized_at"][:10]
        assert (await api.client.get(f"/api/billing/organizations/{org}/invoices", headers=h)).json()[
            "invoices"
        ] == invoices
        assert (await api.client.get("/api/billing/invoices", headers=h)).json()["invoices"] == invoices
        doc = (await api.client.get(f"/api/billing/invoices/{invoices[0]['invoice_id']}", headers=h)).json()
        lines = {ln["code"]: ln["amount"] for ln in doc["lines"]}
        assert lines == {"base_fee": "49.99", "api_calls_overage": "500.00"} and doc["status"] == "open"
        assert (doc["number"], doc["due_date"], doc["amount_due"]) == ("ML-000001", first["due_date"], 54_999)
        r = await api.client.get(f"/api/billing/invoices/in_{org}_2026-04", headers=h)
        assert r.status_code == 404

        upcoming = (await api.client.get(f"/api/billing/invoices/upcoming?account={org}", headers=h)).json()
        assert (upcoming["status"], upcoming["period_start"], upcoming["total"]) == (
            "draft",
            "2026-06-01T00:00:00Z",
            "49.99",
        )

        hist = (
            await api.client.get(
                f"/api/billing/usage/history?account={org}&granularity=period&from=2026-04-01T00:00:00Z", headers=h
            )
        ).json()
        assert [(r["start"][:10], r["metric"], r["quantity"], r["events"]) for r in hist["rows"]] == [
            ("2026-05-01", "api_calls", "150000", 3),
            ("2026-06-01", "api_calls", "700", 1),
        ]
        days = (
            await api.client.get(f"/api/billing/usage/history?account={org}&metric=api_calls&user_id=u1", headers=h)
        ).json()
        assert [(r["start"][:10], r["user_id"], r["quantity"]) for r in days["rows"]] == [
            ("2026-05-03", "u1", "100000"),
            ("2026-06-02", "u1", "700"),
        ]
        per_member = (await api.client.get(f"/api/billing/organizations/{org}/usage", headers=h)).json()["rows"]
        assert {(r["start"][:7], r["user_id"], Decimal(r["quantity"])) for r in per_member} == {
            ("2026-05", "u1", Decimal(100000)),
            ("2026-05", "u2", Decimal(50000)),
            ("2026-06", "u1", Decimal(700)),
        }
        # A member reads its own share only.
        mine = await api.client.get(
            f"/api/billing/usage/history?account={org}&user_id=u2", headers=api.as_user("u2", org)
        )
        assert [r["quantity"] for r in mine.json()["rows"]] == ["50000"]
        # One answer reads at most METERLINE_API_USAGE_HISTORY_MAX_ROWS rows by day (the API process is shared).
        everyone = f"/api/billing/usage/history?account={org}&from=2026-04-01T00:00:00Z&by_user=true"
        n = len((await api.client.get(everyone, headers=h)).json()["rows"])
        assert n >= 3
    june = datetime(2026, 6, 10, 12, tzinfo=UTC)
    async with make_api(now=june, api_usage_history_max_rows=n) as exact:
        assert len((await exact.client.get(everyone, headers=h)).json()["rows"]) == n
    async with make_api(now=june, api_usage_history_max_rows=n - 1) as small:
        r = await small.client.get(everyone, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "too_many_rows"), r.text
        r = await small.client.get(f"{everyone}&user_id=u2", headers=h)  # narrower: answered
        assert [row["quantity"] for row in r.json()["rows"]] == ["50000"]
