"""What the pipeline benchmarks (bench/ingest.py, bench/live_rating.py) share: the 10,000 accounts and
their subscriptions, the event generator and producer, worker processes, and reading their metrics."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import orjson
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rating.subscriptions import SubscriptionVersion  # noqa: E402
from schemas.partitioning import partition_for  # noqa: E402
from streams.worker.metrics import read_metrics  # noqa: E402

TIERS = ["free", "standard", "enterprise"]
ORGS, USERS = 500, 9_500  # every account has a subscription: o0..o499, u0..u9499
METRICS = ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]
QUOTA_HIST = "meterline_event_to_quota_seconds"


def subscriptions_start(now: datetime | None = None) -> datetime:
    """The first of the month of yesterday: every event of a run (at most hours old) falls in a subscription,
    and no earlier period of theirs is due for invoicing (its end plus the 24 h grace is still ahead)."""
    day = ((now or datetime.now(UTC)) - timedelta(days=1)).date()
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def accounts(start: datetime | None = None) -> list[SubscriptionVersion]:
    """10,000 subscriptions: 500 organizations over the three tiers, 9,500 users over free and standard."""
    begin = start or subscriptions_start()
    anchor = date(begin.year, begin.month, begin.day)

    def sub(account: str, kind: Literal["user", "org"], tier: str) -> SubscriptionVersion:
        return SubscriptionVersion(
            account_id=account, account_kind=kind, tier=tier, anchor=anchor, effective_from=begin, version=1
        )

    return [sub(f"o{i}", "org", TIERS[i % 3]) for i in range(ORGS)] + [
        sub(f"u{i}", "user", TIERS[i % 2]) for i in range(USERS)
    ]


def make_event(i: int, ts_ms: int, rng: random.Random, prefix: str) -> dict[str, object]:
    """One event of a subscribed user, half of them in one of the subscribed organizations."""
    user = f"u{rng.randrange(USERS)}"
    org = f"o{rng.randrange(ORGS)}" if rng.random() < 0.5 else None
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


def alternating(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """The CPU seconds of each function in each of ``rounds`` rounds, the functions taking turns within a round
    (so a loaded machine's changes fall on all of them)."""
    spent: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.process_time()
            fn()
            spent[name].append(time.process_time() - t)
    return spent


def now_ms() -> int:
    return int(time.time() * 1000)


def events(n: int, prefix: str, event_time: Callable[[int], int] | None = None) -> Iterator[dict[str, object]]:
    """``n`` events; ``event_time(i)`` is the time of the i-th (default: when it is generated)."""
    rng = random.Random(7)
    for i in range(n):
        yield make_event(i, event_time(i) if event_time else now_ms(), rng, prefix)


def backlog_time(n_old: int, old_start_ms: int, old_span_ms: int) -> Callable[[int], int]:
    """Event times of a backlog: the first ``n_old`` spread evenly over ``old_span_ms`` from ``old_start_ms``,
    the rest within the last minute."""
    recent = now_ms() - 60_000

    def at(i: int) -> int:
        return old_start_ms + i * old_span_ms // n_old if i < n_old else recent + i % 60_000

    return at


async def produce(
    bootstrap: str,
    topic: str,
    partitions: int,
    evs: Iterable[dict[str, object]],
    batch: int,
    rate: float | None = None,
) -> float:
    """Envelopes of ``batch`` events grouped by partition, like the SDK (``rate``: events/s offered);
    returns the seconds taken."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_request_size=8 << 20, max_batch_size=1 << 20
    )
    await producer.start()
    t0 = time.perf_counter()
    sent = 0
    try:
        buffers: dict[int, list[bytes]] = {}
        futures = []
        for ev in evs:
            p = partition_for(str(ev["org_id"] or ev["user_id"]), partitions)
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


def peak_rss_mib(pid: int) -> float:
    """A live process's peak resident set (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_workers(
    roles: list[str], names: list[str], env: dict[str, str], data: Path, port: int
) -> list[subprocess.Popen[bytes]]:
    """``worker --role R`` processes with metrics on port, port + 1, ...; logs in ``data/worker-NAME.log``."""
    procs = []
    for i, (role, name) in enumerate(zip(roles, names, strict=True)):
        with open(data / f"worker-{name}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "streams.cli.main",
                        "worker",
                        "--role",
                        role,
                        "--metrics-port",
                        str(port + i),
                    ],
                    env={**env, "METERLINE_WORKER_ID": name},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(120)
        except subprocess.TimeoutExpired:  # still draining a backlog: stop it hard
            p.kill()
            p.wait(30)


class Scrape:
    """The metrics of several workers, summed by name (a counter absent from a role counts 0)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports

    def each(self) -> list[dict[str, float]]:
        return [read_metrics(p) for p in self.ports]

    def all(self) -> dict[str, float]:
        return summed(self.each())

    def get(self, name: str) -> float:
        return sum(read_metrics(p).get(name, 0.0) for p in self.ports)

    def wait_started(self, procs: list[subprocess.Popen[bytes]], data: Path) -> None:
        """Until a worker read its first record; exits if one died."""
        while self.get("meterline_records_in_total") == 0:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker died: see the logs in {data}")
            time.sleep(0.05)


def summed(scrapes: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in scrapes:
        for k, v in m.items():
            out[k] = out.get(k, 0.0) + v
    return out


def rating_steps_line(m: dict[str, float], events: int) -> str:
    """The live rating steps of a backlog: how many, their mean size, rated lines per event (docs/performance.md)."""
    steps = m.get("meterline_rate_batch_events_count", 0)
    lines = m.get("meterline_rated_lines_total", 0)
    return (
        f"rating steps: {steps:,.0f}, {m.get('meterline_rate_batch_events_sum', 0) / max(steps, 1):,.0f} events "
        f"each; rated lines and quota states: {lines / max(events, 1):.2f} per event"
    )


def labelled(m: dict[str, float], name: str) -> dict[str, float]:
    """``{label values: value}`` of one labelled metric, e.g. alerts by kind."""
    return {k[len(name) :]: v for k, v in m.items() if k.startswith(name + "{")}


def buckets(m: dict[str, float], name: str = QUOTA_HIST) -> dict[float, float]:
    """Cumulative bucket counts of a histogram, by upper bound."""
    out = {}
    for k, v in m.items():
        if k.startswith(name + "_bucket"):
            le = k.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = v
    return out


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The q-quantile of what a histogram observed between two scrapes, interpolated within the bucket
    as Prometheus' histogram_quantile does."""
    diff = sorted((le, after[le] - before.get(le, 0)) for le in after)
    if not diff or diff[-1][1] <= 0:
        return float("nan")
    total = diff[-1][1]
    rank, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in diff:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
    return diff[-1][0]
