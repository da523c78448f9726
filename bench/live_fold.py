"""The live rating step alone, without Kafka: the reference (``rate_batch``) and the fast path (``fold_step``).

Both rate the same steps of the benchmark's events (10,000 accounts, five metrics) from their own table,
with the worker's garbage-collector settings, and encode what the agent encodes (entries, quota states).
Prints CPU microseconds per event for each step after the first (which fills the caches), so a loaded
machine skews it less than wall time. No stack needed.

    python bench/live_fold.py [--events-per-step 100000] [--steps 6] [--path fast] [--members 100] [--kernel both]

``--kernel both`` rates with the fast path twice, its plain counter groups by the native kernel
(rating/live/kernel) and in Python, alternating step by step in this process (each from its own table, who
goes first taking turns), and prints the share of groups the kernel took; ``--kernel off`` is the Python
path alone (as a worker with ``METERLINE_LIVE_KERNEL=false``).

``--steps 16 --events-per-step 50000`` fills each account's period over the run (the cost of a step late
in a period); ``--path fast`` rates with the fast path only (half the time on a loaded machine).
``--members 100`` takes an organization's events from its own 100 members (the benchmark's events
pick any of the 9,500 users, so an organization's seats grow all period: ~50 join every step). The
part of each step spent encoding the entries is printed apart.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from common import USERS, accounts, make_event

from rating.catalog.loader import load_catalog
from schemas.events import AcceptedEvent
from streams.live import native
from streams.live.fold import fold_step
from streams.live.rating import rate_batch
from streams.live.resolve import Resolver
from streams.subscriptions.registry import SubscriptionRegistry


def bench_steps(n: int, steps: int, now: datetime, members: int = 0) -> list[list[AcceptedEvent]]:
    """``steps`` steps of ``n`` of the benchmark's events, each a second later than the last (a gauge's
    readings arrive in time order); ``members``: an organization's events from its own members only."""
    rng = random.Random(7)
    ts = int(now.timestamp() * 1000) - 60_000

    def step_events(k: int) -> list[AcceptedEvent]:
        out = []
        for i in range(n):
            d = make_event(i, ts + k * 1000 + i % 1000, rng, f"s{k}")
            org, user = d["org_id"], str(d["user_id"])
            if org and members:  # the organization's own members, not any of the 9,500 users
                user = f"u{(int(str(org)[1:]) * members + int(user[1:]) % members) % USERS}"
            out.append(
                AcceptedEvent(
                    event_id=str(d["event_id"]),
                    ts_ms=int(str(d["timestamp"])),
                    user_id=user,
                    org_id=str(org) if org else None,
                    metric=str(d["metric"]),
                    quantity=Decimal(str(d["quantity"])),
                    source="bench",
                    properties=dict(d["properties"]),  # type: ignore[call-overload]
                    account_id=str(org) if org else user,
                )
            )
        return out

    return [step_events(k) for k in range(steps)]


def bench_registry() -> SubscriptionRegistry:
    """The benchmark's 10,000 subscriptions (bench/common.py)."""
    registry = SubscriptionRegistry()
    registry.apply(accounts())
    return registry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events-per-step", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--path", choices=["both", "fast", "reference"], default="both")
    ap.add_argument("--members", type=int, default=0)
    ap.add_argument("--kernel", choices=["on", "off", "both"], default="on")
    args = ap.parse_args()
    installed = native.kernel
    if args.kernel != "off" and installed is None:
        ap.error("the native kernel is not installed (make venv with cargo on the PATH)")
    n, registry, now = args.events_per_step, bench_registry(), datetime.now(UTC)
    steps = bench_steps(n, args.steps, now, args.members)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as the worker sets it (streams/worker/run.py)
    fast = {"on": {"": installed}, "off": {"": None}, "both": {", kernel": installed, ", Python": None}}[args.kernel]
    kernels = {f"fast path (fold_step){suffix}": k for suffix, k in fast.items()}
    paths = {"reference (rate_batch)": rate_batch} if args.path != "fast" else {}
    if args.path != "reference":
        paths |= dict.fromkeys(kernels, fold_step)
    plain = 0
    tables: dict[str, dict[str, dict[str, object]]] = {name: {} for name in paths}
    resolvers = {name: Resolver(registry, load_catalog()) for name in paths}
    spent: dict[str, list[float]] = {name: [] for name in paths}
    encoding: dict[str, list[float]] = {name: [] for name in paths}
    written = 0
    lines = 0
    for k, events in enumerate(steps):
        # Who goes first takes turns, so neither always finds the caches as the other left them.
        for name, fn in list(paths.items())[:: -1 if k % 2 else 1]:
            native.kernel = kernels.get(name)
            table, t = tables[name], time.process_time()
            states = {a: table.get(a) for a in {e.account_id for e in events}}
            out = fn(events, states, resolvers[name], now)
            folded = time.process_time()
            written = sum(len(orjson.dumps(entry)) for entry in out.states.values())
            encoding[name].append(time.process_time() - folded)
            table.update(out.states)
            spent[name].append(time.process_time() - t)
            lines = len(out.rated)
            plain = sum(orjson.loads(x)["metric"] not in native.NOT_PLAIN for x in out.rated)
    for name, secs in spent.items():
        print(f"{name}: {_figures(secs, n)}")
    for name, secs in encoding.items():
        print(f"{name}, of which encoding the entries: {_figures(secs, n)}")
    print(f"{n:,} events a step, {lines / n:.2f} rated lines and quota states per event in the last step")
    print(f"plain counter groups (the kernel's, unless it declines): {plain / max(lines, 1):.0%} of them")
    print(f"table records of the last step: {written / 1e6:.1f} MB, {written / n:.0f} bytes an event")
    return 0


def _figures(secs: list[float], n: int) -> str:
    """CPU µs an event of each step after the first, and their summary."""
    per = [s / n * 1e6 for s in secs[1:]]
    return (
        f"{' '.join(f'{x:.1f}' for x in per)} CPU µs/event "
        f"(best {min(per):.1f}: {1e6 / min(per):,.0f} events/s on one core; "
        f"mean {statistics.fmean(per):.1f}, first four {statistics.fmean(per[:4]):.1f}, "
        f"last four {statistics.fmean(per[-4:]):.1f})"
    )


if __name__ == "__main__":
    sys.exit(main())
