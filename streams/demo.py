"""The main job for a new user: a worker on the local stack, sample usage in, what arrived out.

Runs a real ``meterline worker`` process, sends a day of sample usage for a few users and
organizations through the SDK (with duplicates and a few malformed records, as real producers
send), waits until the worker has written it all to ClickHouse, and prints what arrived.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaProducer

from rating.subscriptions import SubscriptionVersion
from schemas.sdk import AsyncUsageClient
from sinks.clickhouse_client import connect_clickhouse
from streams.cli.output import emit_table
from streams.errors import MeterlineError
from streams.kafka_admin import ensure_topics
from streams.kafka_read import read_to_end
from streams.metrics import read_metrics
from streams.settings import Settings
from streams.subscriptions_publish import publish_subscriptions
from streams.topics import ACCEPTED, EVENTS, QUOTA_STATE

PROVIDERS = {
    "openai": ["gpt-4o", "gpt-4o-mini"],
    "anthropic": ["claude-sonnet-4", "claude-haiku"],
    "local": ["llama-3"],
}
FEATURES = ["deep_research", "document_analysis", "voice_synthesis"]
MALFORMED = [b"{not json", b'{"event_id": "x", "metric": "tokens"}', b"[1, 2, 3]"]


@dataclass(frozen=True)
class SentSummary:
    events: int
    duplicates: int
    malformed: int


def _sample(rng: random.Random, run: str, start: datetime, n: int) -> list[dict[str, Any]]:
    users = [f"user-{i:03d}" for i in range(40)]
    orgs = [f"org-{i:02d}" for i in range(5)]
    out = []
    for i in range(n):
        user = rng.choice(users)
        org = orgs[int(user[-3:]) % 5] if int(user[-3:]) % 3 == 0 else None
        ts = start + timedelta(seconds=rng.randrange(0, 23 * 3600))
        kind = rng.choices(
            ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"], weights=[60, 25, 5, 3, 7]
        )[0]
        props: dict[str, Any] = {"demo_run": run}
        qty: int | str = 1
        if kind == "api_calls":
            qty = rng.randint(1, 20)
        elif kind == "ai_requests":
            provider = rng.choice(list(PROVIDERS))
            props |= {
                "provider": provider,
                "model": rng.choice(PROVIDERS[provider]),
                "input_tokens": rng.randint(50, 4000),
                "output_tokens": rng.randint(20, 1500),
            }
        elif kind == "storage_gb":
            qty = f"{rng.uniform(0.5, 80):.3f}"
        elif kind == "premium_feature":
            props["feature"] = rng.choice(FEATURES)
        out.append(
            {
                "metric": kind,
                "quantity": qty,
                "user_id": user,
                "org_id": org,
                "properties": props,
                "event_id": f"{run}-{i}",
                "timestamp": ts,
            }
        )
    return out


async def send_sample(settings: Settings, run: str, now: datetime, n: int = 5000) -> SentSummary:
    rng = random.Random(42)
    events = _sample(rng, run, now - timedelta(days=1), n)
    dupes = events[: n // 20]  # a producer that retried: same event ids again
    async with AsyncUsageClient(settings.kafka_bootstrap, source="demo", topic=settings.topic(EVENTS)) as usage:
        for e in events + dupes:
            await usage.record(
                e["metric"],
                e["quantity"],
                user_id=e["user_id"],
                org_id=e["org_id"],
                properties=e["properties"],
                event_id=e["event_id"],
                timestamp=e["timestamp"],
            )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for raw in MALFORMED:
            await producer.send_and_wait(settings.topic(EVENTS), raw)
    finally:
        await producer.stop()
    return SentSummary(len(events), len(dupes), len(MALFORMED))


def _wait(cond: Any, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise MeterlineError(f"the worker exited while waiting for {what}; see {log}")
        time.sleep(0.3)
    raise MeterlineError(f"timed out waiting for {what}; see {log}")


def run_demo(settings: Settings) -> int:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    print(f"demo run {run}: Kafka at {settings.kafka_bootstrap}, ClickHouse at {settings.resolved_clickhouse_dsn}")
    asyncio.run(ensure_topics(settings))
    plans = _demo_subscriptions(now)
    asyncio.run(publish_subscriptions(settings, plans))
    print("subscriptions: " + ", ".join(f"{v.account_id} {v.tier}/{v.interval}" for v in plans) + "; users: free")
    log = settings.data_dir / "demo-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "METERLINE_METRICS_PORT": str(settings.metrics_port)}
    with open(log, "ab") as fh:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams.cli.main", "worker"], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    port = settings.metrics_port
    try:
        print("starting a worker …", flush=True)
        _wait(lambda: "meterline_records_in_total" in read_metrics(port), 120, "the worker to start", worker, log)
        key = f'meterline_sink_rows_total{{table="{settings.clickhouse_database}.events"}}'
        base = read_metrics(port).get(key, 0)
        t0 = time.monotonic()
        sent = asyncio.run(send_sample(settings, run, now))
        print(f"sent {sent.events} events (+{sent.duplicates} duplicates, {sent.malformed} malformed records)")
        _wait(lambda: read_metrics(port).get(key, 0) - base >= sent.events, 120, "events in ClickHouse", worker, log)
        print(f"all {sent.events} events stored in ClickHouse {time.monotonic() - t0:.1f}s after the first was sent")
        _wait(lambda: _rated(read_metrics(port), settings), 60, "live rating to catch up", worker, log)
        _show_quotas(settings, [v.account_id for v in plans] + ["user-001"])
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
    _report(settings, run, now)
    return 0


def _demo_subscriptions(now: datetime) -> list[SubscriptionVersion]:
    start = now - timedelta(days=40)
    anchor = start.date()

    def v(account: str, tier: str, interval: Literal["month", "year"] = "month") -> SubscriptionVersion:
        return SubscriptionVersion(
            account_id=account,
            account_kind="org",
            tier=tier,
            interval=interval,
            anchor=anchor,
            effective_from=start,
            version=1,
        )

    return [v("org-00", "standard"), v("org-01", "enterprise", "year"), v("org-02", "standard", "year")]


def _rated(metrics: dict[str, float], settings: Settings) -> bool:
    """True once every partition of usage.accepted is committed by the live rating agent."""
    topic = settings.topic(ACCEPTED)
    lags = [v for k, v in metrics.items() if k.startswith("meterline_consumer_lag{") and f'topic="{topic}"' in k]
    return bool(lags) and all(v == 0 for v in lags)


def _show_quotas(settings: Settings, accounts: list[str]) -> None:
    records = asyncio.run(read_to_end(settings.kafka_bootstrap, settings.topic(QUOTA_STATE)))
    latest: dict[bytes, dict[str, Any]] = {r.key: orjson.loads(r.value) for r in records if r.key and r.value}
    rows = []
    for account in accounts:
        for metric in ("api_calls", "storage_gb", "ai_requests"):
            q = latest.get(f"{account}:{metric}".encode())
            if q:
                rows.append(
                    [
                        account,
                        metric,
                        q["used"],
                        q["included"] or (f"cap {q['hard_cap']}" if q["hard_cap"] else "unlimited"),
                        q["remaining"] or "-",
                        "yes" if q["hard_capped"] else "",
                        "no" if not q["entitled"] else "",
                    ]
                )
    print("\nlive quota state (billing.quota-state, what gateways enforce):")
    emit_table(["account", "metric", "used", "included", "remaining", "hard-capped", "entitled"], rows)


def _report(settings: Settings, run: str, started: datetime) -> None:
    ch = connect_clickhouse(settings)
    db = settings.clickhouse_database
    rows = ch.query(
        f"SELECT metric, count() AS events, uniqExact(account_id) AS accounts, sum(quantity) AS quantity, "
        f"sum(input_tokens + output_tokens) AS tokens FROM {db}.events FINAL "
        f"WHERE properties['demo_run'] = %(run)s GROUP BY metric ORDER BY events DESC",
        parameters={"run": run},
    ).result_rows
    print("\nwhat arrived in ClickHouse (events, deduplicated by event_id):")
    emit_table(
        ["metric", "events", "accounts", "quantity", "AI tokens"], [[r[0], r[1], r[2], f"{r[3]:f}", r[4]] for r in rows]
    )
    top = ch.query(
        f"SELECT account_id, count(), countIf(metric = 'ai_requests') FROM {db}.events FINAL "
        f"WHERE properties['demo_run'] = %(run)s GROUP BY account_id ORDER BY count() DESC LIMIT 5",
        parameters={"run": run},
    ).result_rows
    print("\nbusiest billing accounts:")
    emit_table(["account", "events", "AI requests"], top)
    rejected = ch.query(
        f"SELECT reason, count(), any(detail) FROM {db}.rejected_events FINAL "
        f"WHERE rejected_at >= toDateTime64(%(started)s, 3, 'UTC') GROUP BY reason ORDER BY reason",
        parameters={"started": started.strftime("%Y-%m-%d %H:%M:%S")},
    ).result_rows
    print("\nsent to the dead-letter topic by this run, and why:")
    emit_table(["reason", "count", "example"], [[r[0], r[1], r[2][:70]] for r in rejected])
    ch.close()
