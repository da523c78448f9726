"""Live rating benchmark: events through ingest → live rating for 10,000 accounts across the three tiers.

Prints events/s (backlog drained through rating), p50/p99 event-to-quota-state latency at an offered
load (interpolated from the worker's histogram, as Prometheus' histogram_quantile does), and peak RSS.
Needs the local stack (`make stack-up`).

    python bench/live_rating.py --events 500000 --rate 10000 --latency-seconds 20 [--split]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import peak_rss_mib, produce  # noqa: E402

from rating.subscriptions import SubscriptionVersion  # noqa: E402
from streams.kafka_admin import ensure_topics  # noqa: E402
from streams.metrics import read_metrics  # noqa: E402
from streams.settings import load_settings  # noqa: E402
from streams.subscriptions_publish import publish_subscriptions  # noqa: E402
from streams.topics import EVENTS  # noqa: E402

TIERS = ["free", "standard", "enterprise"]
HIST = "meterline_event_to_quota_seconds_bucket"


def accounts() -> list[SubscriptionVersion]:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    subs = [
        SubscriptionVersion(
            account_id=f"o{i}",
            account_kind="org",
            tier=TIERS[i % 3],
            anchor=date(2026, 10, 1),
            effective_from=start,
            version=1,
        )
        for i in range(500)
    ]
    subs += [
        SubscriptionVersion(
            account_id=f"u{i}",
            account_kind="user",
            tier=TIERS[i % 2],
            anchor=date(2026, 10, 1),
            effective_from=start,
            version=1,
        )
        for i in range(9500)
    ]
    return subs


def buckets(m: dict[str, float]) -> dict[float, float]:
    out = {}
    for k, v in m.items():
        if k.startswith(HIST):
            le = k.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = v
    return out


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    diff = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = diff[-1][1]
    if total <= 0:
        return float("nan")
    rank, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in diff:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
    return diff[-1][0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--split", action="store_true", help="three processes: ingest, rate, sink")
    args = ap.parse_args()

    prefix = f"rbench{uuid.uuid4().hex[:6]}."
    data = Path(tempfile.mkdtemp(prefix="meterline-rbench-"))
    s = load_settings().model_copy(update={"topic_prefix": prefix, "data_dir": data})
    asyncio.run(ensure_topics(s))
    t = time.perf_counter()
    asyncio.run(publish_subscriptions(s, accounts()))
    print(f"published 10,000 subscriptions in {time.perf_counter() - t:.1f}s")
    asyncio.run(produce(s.kafka_bootstrap, s.topic(EVENTS), s.topic_partitions, args.events, args.batch, "bl"))

    roles = ["ingest", "rate", "sink"] if args.split else ["all"]
    base = 19_000 + random.randrange(900)
    env = {
        **os.environ,
        "METERLINE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "METERLINE_TOPIC_PREFIX": prefix,
        "METERLINE_DATA_DIR": str(data),
    }
    procs = []
    for i, role in enumerate(roles):
        log = open(data / f"worker-{role}.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "streams.cli.main", "worker", "--role", role, "--metrics-port", str(base + i)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        )
    rate_port = base + roles.index("rate" if args.split else "all")
    try:
        while read_metrics(rate_port).get("meterline_rated_events_total", 0) == 0:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker died: see {data}")
            time.sleep(0.05)
        t0 = time.perf_counter()
        while read_metrics(rate_port).get("meterline_rated_events_total", 0) < args.events:
            time.sleep(0.5)
        rated = args.events / (time.perf_counter() - t0)
        mode = "3 processes (ingest, rate, sink)" if args.split else "1 worker process"
        print(f"ingest -> live rating, 10,000 accounts: {rated:,.0f} events/s ({mode}, backlog {args.events:,})")
        m = read_metrics(rate_port)
        steps = m.get("meterline_rate_batch_events_count", 0)
        lines = m.get("meterline_rated_lines_total", 0)
        print(
            f"  rating steps: {steps:,.0f}, {m.get('meterline_rate_batch_events_sum', 0) / max(steps, 1):,.0f} events "
            f"each; rated lines and quota states: {lines / max(args.events, 1):.2f} per event"
        )

        before = buckets(read_metrics(rate_port))
        n = int(args.rate * args.latency_seconds)
        asyncio.run(produce(s.kafka_bootstrap, s.topic(EVENTS), s.topic_partitions, n, 50, "lat", rate=args.rate))
        while read_metrics(rate_port).get("meterline_rated_events_total", 0) < args.events + n:
            time.sleep(0.5)
        after = buckets(read_metrics(rate_port))
        m = read_metrics(rate_port)
        rss = {r: peak_rss_mib(p.pid) for r, p in zip(roles, procs, strict=True)}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    print(
        f"event-to-quota-state latency at {args.rate:,.0f} events/s offered (envelopes of 50): "
        f"p50 {quantile(0.5, before, after) * 1000:,.0f} ms, p90 {quantile(0.9, before, after) * 1000:,.0f} ms, "
        f"p99 {quantile(0.99, before, after) * 1000:,.0f} ms"
    )
    alerts = {k: v for k, v in m.items() if k.startswith("meterline_alerts_total")}
    print(f"alerts raised: {sum(alerts.values()):,.0f}")
    print("peak RSS: " + ", ".join(f"{r} {v:,.0f} MiB" for r, v in rss.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
