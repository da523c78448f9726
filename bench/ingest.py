"""Ingest benchmark: N events through a real worker into ClickHouse, against raw consume+decode.

Prints events/s of both, their ratio, p50/p99 event-to-ClickHouse latency at an offered load,
and the worker's peak RSS. Needs the local stack (`make stack-up`); run with `make bench`.

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
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.local.warehouse import Warehouse  # noqa: E402
from schemas.decode import DecodeLimits, decode_record  # noqa: E402
from sinks.clickhouse_client import connect  # noqa: E402
from streams.kafka_admin import ensure_topics  # noqa: E402
from streams.metrics import read_metrics as scrape  # noqa: E402
from streams.partitioning import partition_for  # noqa: E402
from streams.settings import load_settings  # noqa: E402
from streams.topics import EVENTS  # noqa: E402

METRICS = ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]


def make_event(i: int, ts_ms: int, rng: random.Random, prefix: str) -> dict[str, object]:
    user = f"u{rng.randrange(10_000)}"
    org = f"o{rng.randrange(500)}" if rng.random() < 0.5 else None
    metric = METRICS[i % 5]
    props: dict[str, object] = {"module": "bench"}
    if metric == "ai_requests":
        props |= {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 200}
    return {
        "event_id": f"{prefix}-{i}",
        "timestamp": ts_ms,
        "user_id": user,
        "org_id": org,
        "metric": metric,
        "quantity": 1,
        "properties": props,
        "source": "bench",
    }


async def produce(
    bootstrap: str,
    topic: str,
    partitions: int,
    n: int,
    batch: int,
    prefix: str,
    rate: float | None = None,
    start_index: int = 0,
) -> float:
    """Envelopes grouped by partition, like the SDK; returns seconds taken."""
    rng = random.Random(7)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_request_size=8 << 20, max_batch_size=1 << 20
    )
    await producer.start()
    t0 = time.perf_counter()
    sent = 0
    try:
        buffers: dict[int, list[bytes]] = {}
        futures = []
        # Backlog events a minute old: their hour is still open, so settlement (measured on its own in
        # bench/settlement.py) does not run over them during the ingest measurement.
        start_ms = int(time.time() * 1000) - 60_000
        for i in range(start_index, start_index + n):
            ev = make_event(i, int(time.time() * 1000) if rate else start_ms + i % 60_000, rng, prefix)
            key = str(ev["org_id"] or ev["user_id"])
            p = partition_for(key, partitions)
            buf = buffers.setdefault(p, [])
            buf.append(orjson.dumps(ev))
            if len(buf) >= batch:
                futures.append(await producer.send(topic, b'{"events":[' + b",".join(buf) + b"]}", partition=p))
                buffers[p] = []
            sent += 1
            if rate and sent % 1000 == 0:
                ahead = sent / rate - (time.perf_counter() - t0)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if len(futures) > 200:
                await asyncio.gather(*futures)
                futures = []
        for p, buf in buffers.items():
            if buf:
                futures.append(await producer.send(topic, b'{"events":[' + b",".join(buf) + b"]}", partition=p))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


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
    from datetime import UTC, datetime, timedelta

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


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=500, help="events per Kafka record")
    ap.add_argument("--rate", type=float, default=50_000, help="offered events/s in the latency phase")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--split", action="store_true", help="two worker processes: --role ingest and --role sink")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N workers (--role all) in one consumer group, sharing chDB through the warehouse bridge",
    )
    args = ap.parse_args()
    if args.split and args.workers > 1:
        ap.error("--split and --workers are different layouts: choose one")

    base = load_settings()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    data = Path(tempfile.mkdtemp(prefix="meterline-bench-"))
    s = base.model_copy(update={"topic_prefix": prefix, "data_dir": data})
    topic = s.topic(EVENTS)
    asyncio.run(ensure_topics(s))
    print(f"topic {topic}, {s.topic_partitions} partitions, data in {data}")

    took = asyncio.run(produce(s.kafka_bootstrap, topic, s.topic_partitions, args.events, args.batch, "bl"))
    print(f"produced {args.events:,} events in {args.events // args.batch:,}+ records: {args.events / took:,.0f} ev/s")

    raw = asyncio.run(raw_consume(s.kafka_bootstrap, topic, s.topic_partitions, args.events))
    print(f"raw aiokafka consume + decode:      {raw:>10,.0f} events/s")

    port = 19_000 + random.randrange(1000)
    env = {
        **os.environ,
        "METERLINE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "METERLINE_TOPIC_PREFIX": prefix,
        "METERLINE_DATA_DIR": str(data),
    }
    roles = ["ingest", "sink"] if args.split else ["all"] * args.workers
    names = roles if args.split else [f"w{i + 1}" for i in range(args.workers)]
    bridge = None
    if args.workers > 1:  # several processes write chDB: through one owner of the directory
        bridge = Warehouse(data_dir=data, chdb_path=data / "clickhouse", port=port + 900)
        bridge.start(timeout=60)
    workers = []
    for i, (role, name) in enumerate(zip(roles, names, strict=True)):
        log = open(data / f"worker-{name}.log", "wb")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "streams.cli.main", "worker", "--role", role, "--metrics-port", str(port + i)],
                env={**env, "METERLINE_WORKER_ID": name},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        )
    # Rows stored: the sink's, or every all-role worker's, summed.
    sink_ports = [port + 1] if args.split else [port + i for i in range(len(roles))]
    key = f'meterline_sink_rows_total{{table="{s.clickhouse_database}.events"}}'

    def stored() -> float:
        return sum(scrape(p).get(key, 0) for p in sink_ports)

    try:
        while sum(scrape(port + i).get("meterline_records_in_total", 0) for i in range(len(roles))) == 0:
            if any(w.poll() is not None for w in workers):
                raise SystemExit(f"a worker died: see {data}")
            time.sleep(0.05)
        t0 = time.perf_counter()
        while stored() < args.events:
            time.sleep(0.5)
        ingest = args.events / (time.perf_counter() - t0)
        mode = (
            "2 processes (ingest + sink)"
            if args.split
            else f"{args.workers} worker process{'es' if args.workers > 1 else ''}"
        )
        print(f"ingest -> usage.accepted -> ClickHouse: {ingest:>10,.0f} events/s ({mode}, backlog of {args.events:,})")
        print(f"ratio to raw consume+decode:         {ingest / raw:>10.2f}")

        n_lat = int(args.rate * args.latency_seconds)
        before = stored()
        asyncio.run(produce(s.kafka_bootstrap, topic, s.topic_partitions, n_lat, args.batch, "lat", rate=args.rate))
        while stored() < before + n_lat:
            time.sleep(0.5)
        rss = {r: peak_rss_mib(w.pid) for r, w in zip(names, workers, strict=True)}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(120)
            except subprocess.TimeoutExpired:  # still draining a backlog of rated lines: stop it hard
                w.kill()
                w.wait(30)
    ch = connect(f"chdb://{data / 'clickhouse'}", data_dir=data)  # through the bridge if one runs
    q = ch.query(
        f"SELECT quantiles(0.5, 0.99)(dateDiff('millisecond', timestamp, stored_at)), count() "
        f"FROM {s.clickhouse_database}.events WHERE event_id LIKE 'lat-%'"
    ).result_rows[0]
    total = ch.query(f"SELECT count(), uniqExact(event_id) FROM {s.clickhouse_database}.events").result_rows[0]
    print(
        f"event-to-ClickHouse latency at {args.rate:,.0f} ev/s offered: p50 {q[0][0]:.0f} ms, p99 {q[0][1]:.0f} ms "
        f"({q[1]:,} events)"
    )
    print("worker peak RSS: " + ", ".join(f"{r} {v:,.0f} MiB" for r, v in rss.items()))
    print(f"rows in events: {total[0]:,} ({total[1]:,} distinct ids)")
    ch.close()
    if bridge is not None:
        bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
