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
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import (
    Scrape,
    accounts,
    buckets,
    events,
    labelled,
    peak_rss_mib,
    produce,
    quantile,
    rating_steps_line,
    start_workers,
    stop_workers,
)

from streams.kafka.admin import ensure_topics
from streams.settings import load_settings
from streams.subscriptions.publish import publish_subscriptions
from streams.topics import EVENTS


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
    topic = s.topic(EVENTS)
    asyncio.run(ensure_topics(s))
    t = time.perf_counter()
    asyncio.run(publish_subscriptions(s, accounts()))
    print(f"published 10,000 subscriptions in {time.perf_counter() - t:.1f}s")
    asyncio.run(produce(s.kafka_bootstrap, topic, s.topic_partitions, events(args.events, "bl"), args.batch))

    roles = ["ingest", "rate", "sink"] if args.split else ["all"]
    base = 19_000 + random.randrange(900)
    env = {
        **os.environ,
        "METERLINE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "METERLINE_TOPIC_PREFIX": prefix,
        "METERLINE_DATA_DIR": str(data),
    }
    procs = start_workers(roles, roles, env, data, base)
    rater = Scrape([base + roles.index("rate" if args.split else "all")])
    try:
        rater.wait_started(procs, data)
        t0 = time.perf_counter()
        while rater.get("meterline_rated_events_total") < args.events:
            time.sleep(0.5)
        rated = args.events / (time.perf_counter() - t0)
        mode = "3 processes (ingest, rate, sink)" if args.split else "1 worker process"
        print(f"ingest -> live rating, 10,000 accounts: {rated:,.0f} events/s ({mode}, backlog {args.events:,})")
        print("  " + rating_steps_line(rater.all(), args.events))

        before = buckets(rater.all())
        n = int(args.rate * args.latency_seconds)
        asyncio.run(produce(s.kafka_bootstrap, topic, s.topic_partitions, events(n, "lat"), 50, rate=args.rate))
        while rater.get("meterline_rated_events_total") < args.events + n:
            time.sleep(0.5)
        m = rater.all()
        after = buckets(m)
        rss = {r: peak_rss_mib(p.pid) for r, p in zip(roles, procs, strict=True)}
    finally:
        stop_workers(procs)
    print(
        f"event-to-quota-state latency at {args.rate:,.0f} events/s offered (envelopes of 50): "
        f"p50 {quantile(0.5, before, after) * 1000:,.0f} ms, p90 {quantile(0.9, before, after) * 1000:,.0f} ms, "
        f"p99 {quantile(0.99, before, after) * 1000:,.0f} ms"
    )
    print(f"alerts raised: {sum(labelled(m, 'meterline_alerts_total').values()):,.0f}")
    print("peak RSS: " + ", ".join(f"{r} {v:,.0f} MiB" for r, v in rss.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
