"""Live rating on the real stack: subscriptions put by the CLI, usage in, quota states and alerts out,
and a worker restart that keeps the period's counters (RocksDB + changelog) without recounting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import clickhouse_connect
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from schemas.sdk import AsyncUsageClient
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ACCEPTED, ALERTS, EVENTS
from tests.support.meterline_cli import cli, quotas
from tests.support.processes import drained, scrape, start_worker, wait_until

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
ANCHOR = (NOW - timedelta(hours=3)).date()
T0 = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC)  # the period's start


async def send(s: Settings, events: list[dict[str, Any]]) -> None:
    async with AsyncUsageClient(s.kafka_bootstrap, source="live", topic=s.topic(EVENTS)) as usage:
        for e in events:
            await usage.record(
                e["metric"],
                e["quantity"],
                user_id=e["user_id"],
                org_id=e.get("org_id"),
                event_id=e["event_id"],
                timestamp=e["ts"],
                properties=e.get("properties"),
            )


async def read_alerts(s: Settings) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(s.topic(ALERTS), bootstrap_servers=s.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=3000):
            out.extend(orjson.loads(r.value) for recs in batch.values() for r in recs)
    finally:
        await consumer.stop()
    return out


def test_quotas_alerts_and_restart(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    s = stack_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("live"), "topic_prefix": stack_settings.topic_prefix + "live."}
    )
    asyncio.run(ensure_topics(s))
    upgrade = NOW - timedelta(minutes=30)
    anchor = ANCHOR.isoformat()
    cli(
        s,
        "subscriptions",
        "put",
        "--account",
        "acme",
        "--kind",
        "org",
        "--tier",
        "free",
        "--anchor",
        anchor,
        "--effective-from",
        T0.isoformat(),
    )
    cli(
        s,
        "subscriptions",
        "put",
        "--account",
        "acme",
        "--kind",
        "org",
        "--tier",
        "standard",
        "--anchor",
        anchor,
        "--effective-from",
        upgrade.isoformat(),
    )
    worker, port = start_worker(s, s.data_dir / "w.log")
    key = f"ts-{NOW.timestamp()}"
    events = (
        # solo: a free user, 12 x 1,000 API calls (past the 10,000 hard cap) and an AI request it is not entitled to.
        [
            {
                "metric": "api_calls",
                "quantity": 1000,
                "user_id": "solo",
                "event_id": f"{key}-s{i}",
                "ts": NOW - timedelta(minutes=20),
            }
            for i in range(12)
        ]
        + [
            {
                "metric": "ai_requests",
                "quantity": 1,
                "user_id": "solo",
                "event_id": f"{key}-ai",
                "ts": NOW - timedelta(minutes=20),
                "properties": {"provider": "openai", "model": "gpt-4o"},
            }
        ]
        # acme: 8,000 calls while free, then 100,000 after the upgrade to standard, by two members.
        + [
            {
                "metric": "api_calls",
                "quantity": 8000,
                "user_id": "m1",
                "org_id": "acme",
                "event_id": f"{key}-a0",
                "ts": upgrade - timedelta(minutes=10),
            }
        ]
        + [
            {
                "metric": "api_calls",
                "quantity": 10000,
                "user_id": f"m{i % 2}",
                "org_id": "acme",
                "event_id": f"{key}-a{i + 1}",
                "ts": upgrade + timedelta(minutes=5),
            }
            for i in range(10)
        ]
    )
    try:
        asyncio.run(send(s, events))
        wait_until(
            lambda: (
                drained(port, (s.topic(ACCEPTED),))
                and scrape(port).get("meterline_events_accepted_total", 0) >= len(events)
            ),
            120,
            "rating to catch up",
            worker,
        )
        solo = quotas(s, "solo")
        assert solo["api_calls"]["used"] == "12000"
        assert (solo["api_calls"]["included"], solo["api_calls"]["hard_cap"]) == ("10000", "10000")
        assert solo["api_calls"]["hard_capped"] is True and solo["api_calls"]["remaining"] == "0"
        assert solo["ai_requests"]["entitled"] is False
        acme = quotas(s, "acme")["api_calls"]
        # Counters survive the upgrade: 108,000 against standard's 100,000 included.
        assert (acme["used"], acme["included"], acme["over_limit"], acme["hard_capped"]) == (
            "108000",
            "100000",
            True,
            False,
        )

        alerts = asyncio.run(read_alerts(s))
        kinds = sorted((a["account_id"], a["metric"], a["kind"]) for a in alerts)
        assert ("solo", "api_calls", "hard_cap") in kinds and ("solo", "api_calls", "quota_100") in kinds
        assert ("solo", "ai_requests", "not_entitled") in kinds
        assert ("acme", "api_calls", "quota_100") in kinds
        assert len(kinds) == len(set(kinds)), "an alert was raised twice"
        wait_until(lambda: drained(port, (s.topic(ALERTS),)), 60, "alerts stored", worker)
    finally:
        assert worker.terminate() == 0, worker.tail()

    # The same alerts, once each, in ClickHouse for analysts.
    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:
        stored = sorted(ch.query("SELECT account_id, metric, kind FROM meterline.alerts FINAL").result_rows)
        assert stored == kinds
        assert ch.query(
            "SELECT toString(threshold) FROM meterline.alerts FINAL WHERE account_id = 'solo' AND kind = 'hard_cap'"
        ).result_rows == [("10000",)]
    finally:
        ch.close()

    # Restart: the table comes back from RocksDB/changelog; one more call counts once.
    worker, port = start_worker(s, s.data_dir / "w2.log")
    try:
        asyncio.run(
            send(
                s,
                [
                    {
                        "metric": "api_calls",
                        "quantity": 1,
                        "user_id": "solo",
                        "event_id": f"{key}-after",
                        "ts": NOW - timedelta(minutes=1),
                    }
                ],
            )
        )
        wait_until(lambda: quotas(s, "solo")["api_calls"]["used"] == "12001", 120, "the post-restart event", worker)
        assert len(asyncio.run(read_alerts(s))) == len(alerts)  # nothing re-raised
    finally:
        worker.terminate()
