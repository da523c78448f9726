"""End-to-end benchmark (issue #7): producer → ingest → live rating → ClickHouse, with settlement running.

One run, needing the local stack (`make stack-up`; `make bench` runs it):

1. Publishes the 10,000 subscriptions of bench/live_rating.py (500 organizations, 9,500 users, three
   tiers); every event comes from those accounts.
2. Produces a backlog of N events in envelopes of --batch. The first --settle-share of them carry times
   spread over the --settle-hours hours just closed for settlement (before now minus the settlement
   lateness allowance, METERLINE_SETTLE_LATENESS_SECONDS), the rest times of the last minute.
3. Reads the topic with a bare aiokafka consumer and the pipeline's own decoder: the ceiling of this
   machine (raw consume + decode events/s).
4. Starts the worker process(es) with the settlement timer every --settle-interval seconds, and times
   them from their first record until every backlog event is rated by the live stage and stored in
   ClickHouse `events`: events/s of each, and the end-to-end ratio to the ceiling. Settlement settles
   the closed hours of the backlog meanwhile.
5. Offers --rate events/s for --latency-seconds (event time = send time): p50/p99 event-to-quota-state
   latency (the workers' meterline_event_to_quota_seconds histogram, interpolated as Prometheus'
   histogram_quantile does, between a scrape before and one after the phase) and p50/p99
   event-to-ClickHouse latency (`stored_at - timestamp` in ClickHouse).
6. If settlement may not have seen every closed-hour event yet (one stored after its first run becomes
   visible to it 60 s later), waits for it, the figures above being taken. Then prints the settlement
   runs, their total duration and account-hours (worker metrics), the peak RSS (VmHWM) of each worker
   process (and of the warehouse bridge with --bridge or --workers N > 1), and checks in ClickHouse what settlement
   wrote: usage_hourly rows and events of the closed hours, settled rated_usage lines. Dead-lettered
   events (none expected: every time is within the lateness limit) and alerts are counted too.

    python bench/ingest.py --events 1000000 --batch 500 --rate 50000 --latency-seconds 10
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
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from common import (
    Scrape,
    accounts,
    backlog_time,
    buckets,
    events,
    labelled,
    peak_rss_mib,
    produce,
    quantile,
    rating_steps_line,
    start_workers,
    stop_workers,
    summed,
)

from deploy.local.procs import read_pid
from deploy.local.warehouse import Warehouse
from schemas.decode import DecodeLimits, decode_record
from sinks.clickhouse.client import connect
from streams.kafka.admin import ensure_topics
from streams.settings import load_settings
from streams.settlement.job import default_until
from streams.settlement.settler import VISIBILITY_MARGIN, floor_hour
from streams.subscriptions.publish import publish_subscriptions
from streams.topics import EVENTS

HOUR_MS = 3_600_000
T = TypeVar("T")
RUNS, RUN_SECONDS = "meterline_settlement_seconds_count", "meterline_settlement_seconds_sum"
RATED, STORED = "meterline_rated_events_total", 'meterline_sink_rows_total{{table="{db}.events"}}'


async def raw_consume(bootstrap: str, topic: str, partitions: int, expected: int) -> float:
    """The ceiling: aiokafka getmany + the pipeline's own decoder, no Faust, no sink."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    now = datetime.now(UTC)
    limits = DecodeLimits(max_lateness=timedelta(days=36500), max_record_bytes=8 << 20)
    n = 0
    t0 = time.perf_counter()
    try:
        while n < expected:
            batch = await consumer.getmany(timeout_ms=5000, max_records=2000)
            if not batch:
                break
            for recs in batch.values():
                for r in recs:
                    n += len(decode_record(r.value, now=now, limits=limits).accepted)
    finally:
        await consumer.stop()
    return n / (time.perf_counter() - t0)


class SettleWatch:
    """Settlement as the workers report it, and whether it has seen every closed-hour event. The first
    run of all recomputes the closed hours from whatever is stored at its start; a later run picks up an
    event stored after that only once it is VISIBILITY_MARGIN old."""

    def __init__(self, scrape: Scrape, settlers: list[int]) -> None:
        self.scrape, self.settlers = scrape, settlers  # settlers: the workers that may settle (one does)
        self.first_start: dict[int, float] = {}  # worker: the earliest its first run can have started
        self.polled = time.perf_counter()  # when the last scrape began
        self.each: list[dict[str, float]] = []

    def poll(self) -> dict[str, float]:
        """The workers' metrics, summed."""
        started = time.perf_counter()
        self.each = self.scrape.each()
        for i in self.settlers:  # a first run seen now ended after the previous scrape began
            if i not in self.first_start and self.each[i].get(RUNS, 0) >= 1:
                self.first_start[i] = self.polled - self.each[i].get(RUN_SECONDS, 0)
        self.polled = started
        return summed(self.each)

    async def during(self, work: Awaitable[T]) -> T:
        """``work``, polling meanwhile (so that a first run's start is known closely)."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.to_thread(self.poll)
            await asyncio.wait([task], timeout=0.25)
        return task.result()

    def wait_covered(self, stored_by: float, timeout: float) -> float:
        """Until a run saw every event stored by ``stored_by`` (a ``perf_counter`` time); the seconds waited."""
        t = time.perf_counter()
        self.poll()
        # One worker of a group settles (the holder of usage.accepted partition 0): wait for a first run.
        while time.perf_counter() < t + timeout and not self.first_start:
            time.sleep(1)  # a first run in progress may have begun early: wait for it
            self.poll()
        if self.first_start and min(self.first_start.values()) >= stored_by:
            return time.perf_counter() - t  # every run began once all was stored: the first settled all of it
        while time.perf_counter() < min(stored_by + VISIBILITY_MARGIN.total_seconds(), t + timeout):
            time.sleep(1)
        self.poll()
        base = [m.get(RUNS, 0) for m in self.each]  # a run in progress may have started too early: wait 2
        while time.perf_counter() < t + timeout and all(self.each[i].get(RUNS, 0) < base[i] + 2 for i in self.settlers):
            time.sleep(1)
            self.poll()
        return time.perf_counter() - t


def settlement_line(m: dict[str, float]) -> str:
    runs, secs = m.get(RUNS, 0), m.get(RUN_SECONDS, 0)
    failures = m.get("meterline_settlement_failures_total", 0)
    return (
        f"{runs:,.0f} runs, {secs:,.1f} s in all, {m.get('meterline_settled_windows_total', 0):,.0f} account-hours "
        f"recomputed, {failures:,.0f} failed"
    )


def warehouse_figures(data: Path, db: str, cutoff: datetime, bridge_port: int | None) -> dict[str, Any]:
    """What ClickHouse holds after the run (through the bridge if one runs: it holds the chDB directory; else
    the directory itself)."""
    ch = connect(f"http://127.0.0.1:{bridge_port}" if bridge_port is not None else f"chdb://{data / 'clickhouse'}")
    closed = f"toDateTime('{cutoff:%Y-%m-%d %H:%M:%S}', 'UTC')"

    def row(sql: str) -> tuple[Any, ...]:
        return tuple(ch.query(sql).result_rows[0])

    try:
        return {
            "latency": row(
                "SELECT quantiles(0.5, 0.99)(dateDiff('millisecond', timestamp, stored_at)), count() "
                f"FROM {db}.events WHERE event_id LIKE 'lat-%'"
            ),
            "events": row(f"SELECT count(), uniqExact(event_id) FROM {db}.events"),
            "closed": row(f"SELECT count() FROM {db}.events WHERE timestamp < {closed}")[0],
            "hourly": row(
                f"SELECT count(), sum(events), uniqExact(routing_account, hour) FROM {db}.usage_hourly FINAL "
                f"WHERE hour < {closed} AND events > 0"
            ),
            "rated": row(f"SELECT count(), toString(sum(amount)) FROM {db}.rated_usage FINAL WHERE kind = 'settled'"),
            "runs": row(f"SELECT count(), sum(windows) FROM {db}.settlement_runs"),
        }
    finally:
        ch.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="backlog events")
    ap.add_argument("--batch", type=int, default=500, help="events per Kafka record")
    ap.add_argument("--rate", type=float, default=50_000, help="offered events/s in the latency phase")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--split", action="store_true", help="three worker processes: --role ingest, rate and sink")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N workers (--role all) in one consumer group, sharing chDB through the warehouse bridge",
    )
    ap.add_argument(
        "--bridge",
        action="store_true",
        help="write ClickHouse through the warehouse bridge (chDB in a process of its own, in a ClickHouse "
        "server's place) rather than embedded chDB in the worker; always so with --workers N > 1",
    )
    ap.add_argument(
        "--settle-share",
        type=float,
        default=0.1,
        help="share of the backlog in hours already closed for settlement (0: none; the timer still runs)",
    )
    ap.add_argument("--settle-hours", type=int, default=2, help="closed hours those events are spread over (1-12)")
    ap.add_argument(
        "--settle-interval",
        type=float,
        default=15,
        help="seconds between the workers' settlement runs (METERLINE_SETTLE_INTERVAL_SECONDS); the first "
        "runs this long after a worker starts",
    )
    args = ap.parse_args()
    if args.split and args.workers > 1:
        ap.error("--split and --workers are different layouts: choose one")
    if not 0 <= args.settle_share <= 1 or not 1 <= args.settle_hours <= 12:
        ap.error("--settle-share is within 0-1, --settle-hours within 1-12")

    base = load_settings()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    data = Path(tempfile.mkdtemp(prefix="meterline-bench-"))
    s = base.model_copy(update={"topic_prefix": prefix, "data_dir": data})
    topic, db = s.topic(EVENTS), s.clickhouse_database
    asyncio.run(ensure_topics(s))
    print(f"topic {topic}, {s.topic_partitions} partitions, data in {data}")
    t = time.perf_counter()
    asyncio.run(publish_subscriptions(s, accounts()))
    print(f"published 10,000 subscriptions in {time.perf_counter() - t:.1f}s")

    # The closed part of the backlog comes first: the workers store it in their first inserts.
    cutoff = floor_hour(default_until(s, datetime.now(UTC)))  # hours before it are due for settlement
    n_old = int(args.events * args.settle_share)
    old_start = int((cutoff - timedelta(hours=args.settle_hours)).timestamp() * 1000)
    closed: set[tuple[object, int]] = set()  # (routing account, hour) of the closed part: settlement windows

    def backlog() -> Iterator[dict[str, object]]:
        for ev in events(args.events, "bl", backlog_time(n_old, old_start, args.settle_hours * HOUR_MS)):
            ts = ev["timestamp"]
            assert isinstance(ts, int)
            if ts < old_start + args.settle_hours * HOUR_MS:
                closed.add((ev["org_id"] or ev["user_id"], ts // HOUR_MS))
            yield ev

    took = asyncio.run(produce(s.kafka_bootstrap, topic, s.topic_partitions, backlog(), args.batch))
    print(
        f"produced {args.events:,} events in {args.events // args.batch:,}+ records: {args.events / took:,.0f} ev/s; "
        f"{n_old:,} of them in the {args.settle_hours} h before {cutoff:%H:%M} UTC ({len(closed):,} account-hours "
        f"to settle)"
    )

    raw = asyncio.run(raw_consume(s.kafka_bootstrap, topic, s.topic_partitions, args.events))
    print(f"raw aiokafka consume + decode:          {raw:>10,.0f} events/s")

    port = 19_000 + random.randrange(1000)
    env = {
        **os.environ,
        "METERLINE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "METERLINE_TOPIC_PREFIX": prefix,
        "METERLINE_DATA_DIR": str(data),
        "METERLINE_SETTLE_INTERVAL_SECONDS": str(args.settle_interval),
    }
    roles = ["ingest", "rate", "sink"] if args.split else ["all"] * args.workers
    names = roles if args.split else [f"w{i + 1}" for i in range(args.workers)]
    mode = (
        "3 processes (ingest, rate, sink)"
        if args.split
        else f"{args.workers} worker process{'es' if args.workers > 1 else ''}"
    )
    stored_key = STORED.format(db=db)
    bridge = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        if args.workers > 1 or args.bridge:  # several processes write chDB: through one owner of the directory
            bridge = Warehouse(data_dir=data, chdb_path=data / "clickhouse", port=port + 900)
            bridge.start(timeout=60)
        try:
            t_start = time.perf_counter()
            workers = start_workers(roles, names, env, data, port)
            scrape = Scrape([port + i for i in range(len(roles))])  # summed over the workers, whatever their roles
            watch = SettleWatch(scrape, [i for i, r in enumerate(roles) if r in ("all", "sink")])
            scrape.wait_started(workers, data)
            t0 = time.perf_counter()
            print(f"workers started: first record read {t0 - t_start:.1f}s after their start")
            done: dict[str, float] = {}
            first_settled = None
            while len(done) < 2:
                m = watch.poll()
                at = time.perf_counter() - t0
                for what, key in (("rated", RATED), ("stored", stored_key)):
                    if what not in done and m.get(key, 0) >= args.events:
                        done[what] = at
                if first_settled is None and m.get("meterline_settled_windows_total", 0) > 0:
                    first_settled = at
                if any(w.poll() is not None for w in workers):
                    raise SystemExit(f"a worker died: see the logs in {data}")
                time.sleep(0.25)
            e2e = args.events / max(done.values())
            print(f"ingest -> live rating, all rated:        {args.events / done['rated']:>10,.0f} events/s")
            print(f"ingest -> ClickHouse events, all stored: {args.events / done['stored']:>10,.0f} events/s")
            print(f"end to end (rated and stored):           {e2e:>10,.0f} events/s ({mode}, backlog {args.events:,})")
            print(f"ratio to raw consume + decode:           {e2e / raw:>10.2f}")
            print("live " + rating_steps_line(m, args.events))
            when = f"first windows settled {first_settled:.1f}s in" if first_settled is not None else "none settled"
            print(f"settlement during the backlog: {settlement_line(m)} ({when})")

            n_lat = int(args.rate * args.latency_seconds)
            m0 = watch.poll()
            lat = events(n_lat, "lat")
            asyncio.run(watch.during(produce(s.kafka_bootstrap, topic, s.topic_partitions, lat, args.batch, args.rate)))
            while True:
                m1 = watch.poll()
                if (
                    m1.get(RATED, 0) >= m0.get(RATED, 0) + n_lat
                    and m1.get(stored_key, 0) >= m0.get(stored_key, 0) + n_lat
                ):
                    break
                time.sleep(0.25)
            # The figures above are taken: now let settlement see every closed-hour event, for the check below.
            limit = VISIBILITY_MARGIN.total_seconds() + 3 * args.settle_interval + 30
            waited = watch.wait_covered(t0 + done["stored"], limit) if n_old else 0.0
            m2 = watch.poll()
            rss = {name: peak_rss_mib(w.pid) for name, w in zip(names, workers, strict=True)}
            bridge_pid = read_pid(bridge.pid_file) if bridge is not None else None
            if bridge_pid is not None:
                rss["warehouse bridge"] = peak_rss_mib(bridge_pid)
        finally:
            stop_workers(workers)
        wh = warehouse_figures(data, db, cutoff, bridge.port if bridge is not None else None)
    finally:
        if bridge is not None:
            bridge.stop()

    before, after = buckets(m0), buckets(m1)
    p50, p99 = quantile(0.5, before, after) * 1000, quantile(0.99, before, after) * 1000
    (ch50, ch99), n_ch = wh["latency"]
    print(f"event-to-quota-state latency at {args.rate:,.0f} ev/s offered: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms")
    print(f"event-to-ClickHouse latency at {args.rate:,.0f} ev/s offered:  p50 {ch50:,.0f} ms, p99 {ch99:,.0f} ms")
    wait = f"; waited {waited:.0f}s for it after the latency phase" if waited >= 1 else ""
    print(f"settlement in the whole run: {settlement_line(m2)}{wait}")
    (rows, settled, windows), (lines, amount), (runs, run_windows) = wh["hourly"], wh["rated"], wh["runs"]
    print(
        f"  in ClickHouse: {settled:,} of {wh['closed']:,} closed-hour events settled into {rows:,} usage_hourly rows "
        f"({windows:,} of {len(closed):,} account-hours); {lines:,} settled rated_usage lines ({amount} USD); "
        f"{runs:,} settlement_runs rows ({run_windows:,} windows)"
    )
    stripe = labelled(m2, "meterline_stripe_reports_total")
    if stripe:
        print("  Stripe reports: " + ", ".join(f"{k} {v:,.0f}" for k, v in stripe.items()))
    print("peak RSS: " + ", ".join(f"{r} {v:,.0f} MiB" for r, v in rss.items()))
    rejected = sum(labelled(m2, "meterline_events_rejected_total").values())
    alerts = sum(labelled(m2, "meterline_alerts_total").values())
    rows_in, ids = wh["events"]
    print(
        f"rows in events: {rows_in:,} ({ids:,} distinct ids, {args.events + n_lat:,} sent, {n_ch:,} of the latency "
        f"phase); dead-lettered {rejected:,.0f}; duplicates {m2.get('meterline_events_duplicate_total', 0):,.0f}; "
        f"alerts {alerts:,.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
