"""The ingest path end to end on the real stack: SDK and HTTP in, a real worker, Kafka DLQ, chDB out."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.dlq import decode_dead_letter
from schemas.sdk import AsyncUsageClient
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import EVENTS, EVENTS_DLQ
from tests.support.processes import Proc, free_port, scrape, settings_env, start_worker, wait_until

pytestmark = pytest.mark.e2e

GOOD = 600
NOW = datetime.now(UTC)


def _event(i: int, **over: Any) -> dict[str, Any]:
    base = {
        "event_id": f"bad-{i}",
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "user_id": "u-bad",
        "metric": "api_calls",
        "quantity": 1,
        "source": "raw",
    }
    base.update(over)
    return base


# Each bad-input class as a raw Kafka record, with the reason the pipeline must give.
BAD_RECORDS: list[tuple[bytes, str]] = [
    (b"{not json", "not_json"),
    (b"\xc3\x28\xa0\xa1", "invalid_utf8"),
    (b'[{"event_id": "a"}]', "not_an_object"),
    (orjson.dumps({k: v for k, v in _event(1).items() if k != "user_id"}), "missing_field"),
    (orjson.dumps(_event(2, user_id=5)), "wrong_type"),
    (orjson.dumps(_event(3, metric="tokens")), "unknown_metric"),
    (orjson.dumps(_event(4, quantity=-3)), "negative_quantity"),
    (orjson.dumps(_event(5, quantity="NaN")), "invalid_quantity"),
    (orjson.dumps(_event(6, quantity="1e30")), "invalid_quantity"),
    (orjson.dumps(_event(7, timestamp="last tuesday")), "invalid_timestamp"),
    (orjson.dumps(_event(8, timestamp=(NOW + timedelta(hours=1)).isoformat())), "future_timestamp"),
    (orjson.dumps(_event(9, timestamp=(NOW - timedelta(days=90)).isoformat())), "too_late"),
    (orjson.dumps(_event(10, properties={"deep": {"er": 1}})), "invalid_properties"),
    (orjson.dumps(_event(11, properties={f"k{i}": i for i in range(100)})), "invalid_properties"),
    (b'{"pad": "' + b"x" * 1_100_000 + b'"}', "oversized_record"),
]
MIXED = orjson.dumps(
    {
        "events": [
            _event(20, event_id="mixed-ok-1"),
            _event(21, metric="nope"),
            _event(22, event_id="mixed-ok-2"),
            _event(23, event_id="mixed-ok-1"),
        ]
    }
)
# The dedupe key is (source, event_id): another source's mixed-ok-1 is a new event, raw's mixed-ok-2 a repeat.
SHARED = orjson.dumps(
    {"events": [_event(30, event_id="mixed-ok-1", source="other-svc"), _event(31, event_id="mixed-ok-2")]}
)


@pytest.fixture(scope="module")
def pipeline(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Proc, int]]:
    s = stack_settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("pipeline")})
    asyncio.run(ensure_topics(s))
    worker, port = start_worker(s, s.data_dir / "worker.log")
    wait_until(lambda: "meterline_records_in_total" in scrape(port), 90, "the worker's metrics", worker)
    yield s, worker, port
    worker.terminate()


async def _send_sdk(s: Settings) -> list[str]:
    async with AsyncUsageClient(s.kafka_bootstrap, source="chat", topic=s.topic(EVENTS), batch_size=100) as usage:
        ids = []
        for i in range(GOOD):
            ids.append(
                await usage.record(
                    "ai_requests",
                    1,
                    user_id=f"u{i % 17}",
                    org_id="org-1" if i % 2 else None,
                    event_id=f"sdk-{i}",
                    properties={"provider": "openai", "model": "gpt-4o", "input_tokens": 100},
                )
            )
        # The same events produced twice: a replaying producer.
        for i in range(0, GOOD, 3):
            await usage.record(
                "ai_requests", 1, user_id=f"u{i % 17}", org_id="org-1" if i % 2 else None, event_id=f"sdk-{i}"
            )
    return ids


async def _send_raw(s: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for raw, _ in BAD_RECORDS:
            await producer.send_and_wait(s.topic(EVENTS), raw)
        await producer.send_and_wait(s.topic(EVENTS), MIXED)
        await producer.send_and_wait(s.topic(EVENTS), SHARED)
    finally:
        await producer.stop()


def test_sdk_events_stored_once_and_bad_input_dead_lettered(pipeline: tuple[Settings, Proc, int]) -> None:
    s, worker, port = pipeline
    asyncio.run(_send_sdk(s))
    asyncio.run(_send_raw(s))
    expected_accepted = GOOD + 3
    expected_rejected = len(BAD_RECORDS) + 1
    wait_until(
        lambda: (
            scrape(port).get('meterline_sink_rows_total{table="meterline.events"}', 0) >= expected_accepted
            and scrape(port).get('meterline_sink_rows_total{table="meterline.rejected_events"}', 0) >= expected_rejected
        ),
        90,
        "rows in ClickHouse",
        worker,
    )
    m = scrape(port)
    assert m["meterline_events_accepted_total"] == expected_accepted
    # At least the replayed ones: delivery is at least once, so a batch the SDK resent after a slow answer, or
    # records read again after a consumer rebalance, are dropped as duplicates too (and counted): what must be
    # exact is what was accepted, above, and stored (test_clickhouse_holds_each_event_exactly_once).
    assert m["meterline_events_duplicate_total"] >= len(range(0, GOOD, 3)) + 2
    # Exact: a record read again is not dead-lettered twice (dead letters are deduplicated by record).
    assert sum(v for k, v in m.items() if k.startswith("meterline_events_rejected_total")) == expected_rejected
    assert m['meterline_events_rejected_total{reason="invalid_properties"}'] == 2

    # The dead-letter topic holds every bad event with its reason and original bytes.
    letters = asyncio.run(_consume(s, s.topic(EVENTS_DLQ), expected_rejected))
    got = sorted((d.reason, d.raw) for d in letters if d.batch_index == 0 and d.reason != "unknown_metric")
    want = sorted((r, raw[: 64 * 1024]) for raw, r in BAD_RECORDS if r != "unknown_metric")
    assert got == want
    assert {d.source_topic for d in letters} == {s.topic(EVENTS)}
    assert sum(d.reason == "unknown_metric" for d in letters) == 2


async def _consume(s: Settings, topic: str, n: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=s.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[Any] = []
    try:
        while len(out) < n:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {len(out)} of {n} records"
            out.extend(decode_dead_letter(r.value) for recs in batch.values() for r in recs)
    finally:
        await consumer.stop()
    return out


def test_http_ingest_reaches_the_pipeline(pipeline: tuple[Settings, Proc, int]) -> None:
    s, worker, port = pipeline
    env = settings_env(s)
    created = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "ingest", "keys", "create", "--source", "drive", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    key = json.loads(created.stdout)["api_key"]
    http_port, metrics_port = free_port(), free_port()
    env["METERLINE_HTTP_INGEST_METRICS_PORT"] = str(metrics_port)
    server = Proc(["ingest", "serve", "--port", str(http_port)], env, Path(s.data_dir) / "http.log")
    try:
        wait_until(lambda: _healthy(http_port), 60, "the HTTP ingest server", server)
        # Metrics name every source: never on the public ingest port, on their own (127.0.0.1) port.
        assert httpx.get(f"http://127.0.0.1:{http_port}/metrics").status_code == 404
        assert "meterline_http_events_accepted" in httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        before = scrape(port).get('meterline_sink_rows_total{table="meterline.events"}', 0)
        events = [
            {
                "event_id": f"http-{i}",
                "timestamp": NOW.isoformat(),
                "user_id": "u-http",
                "org_id": "org-http",
                "metric": "storage_gb",
                "quantity": "10.5",
            }
            for i in range(5)
        ] + [{"event_id": "http-bad", "timestamp": NOW.isoformat(), "user_id": "u", "metric": "bogus", "quantity": 1}]
        url = f"http://127.0.0.1:{http_port}/v1/events"
        r = httpx.post(url, json={"events": events}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["accepted"] == 5 and body["rejected"] == 1
        assert body["results"][5] == {
            "index": 5,
            "event_id": "http-bad",
            "status": "rejected",
            "reason": "unknown_metric",
            "detail": "Invalid enum value 'bogus' - at `$.metric`",
        }
        # Source comes from the key; the same batch sent again is deduplicated by the pipeline.
        assert httpx.post(url, json={"events": events[:5]}, headers={"X-API-Key": key}).status_code == 200
        assert httpx.post(url, json={"events": events}).status_code == 401
        assert httpx.post(url, content=b"{oops", headers={"Authorization": f"Bearer {key}"}).status_code == 400
        assert httpx.post(url, json=[1], headers={"Authorization": f"Bearer {key}"}).status_code == 400
        assert (
            httpx.post(url, json={"events": events[5:]}, headers={"Authorization": f"Bearer {key}"}).status_code == 422
        )
        too_many = {"events": [dict(events[0], event_id=f"m{i}") for i in range(1001)]}
        assert httpx.post(url, json=too_many, headers={"Authorization": f"Bearer {key}"}).status_code == 413
        wait_until(
            lambda: scrape(port).get('meterline_sink_rows_total{table="meterline.events"}', 0) >= before + 5,
            60,
            "HTTP events in ClickHouse",
            worker,
        )
        assert httpx.get(f"http://127.0.0.1:{http_port}/openapi.json").json()["openapi"].startswith("3.")
    finally:
        server.terminate()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_clickhouse_holds_each_event_exactly_once(pipeline: tuple[Settings, Proc, int]) -> None:
    s, worker, _ = pipeline
    assert worker.terminate() == 0, worker.tail()  # chDB is single-process: release it first
    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:
        q = "SELECT count(), uniqExact(event_id), sum(quantity), sum(input_tokens) FROM meterline.events FINAL "
        rows, uniq, total, tokens = ch.query(q + "WHERE source = 'chat'").result_rows[0]
        assert (rows, uniq, total, tokens) == (GOOD, GOOD, GOOD, GOOD * 100)
        assert ch.query(q + "WHERE event_id LIKE 'http-%'").result_rows[0][:3] == (5, 5, 52.5)
        shared = "SELECT event_id, source FROM meterline.events FINAL WHERE event_id LIKE 'mixed-ok-%' ORDER BY 1, 2"
        assert ch.query(shared).result_rows == [
            ("mixed-ok-1", "other-svc"),
            ("mixed-ok-1", "raw"),
            ("mixed-ok-2", "raw"),
        ]
        by_account = dict(
            ch.query(
                "SELECT account_id, count() FROM meterline.events FINAL WHERE source='chat' GROUP BY account_id"
            ).result_rows
        )
        assert by_account["org-1"] == GOOD // 2
        reasons = dict(
            ch.query("SELECT reason, count() FROM meterline.rejected_events FINAL GROUP BY reason").result_rows
        )
        assert reasons["invalid_properties"] == 2 and reasons["oversized_record"] == 1
        assert sum(reasons.values()) == len(BAD_RECORDS) + 1
    finally:
        ch.close()
