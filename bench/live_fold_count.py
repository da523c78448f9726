"""The live rating step for counting its instructions under callgrind, which a loaded machine does not change.

Rates a few steps of the benchmark's events (``bench_steps`` of bench/live_fold.py) at a fixed time with the
fast path, its plain counter groups by the native kernel (``on``) or in Python (``off``); ``none`` builds
the same steps and rates nothing, so a run's instructions less those of ``none`` are the step's:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=cg.on.out python bench/live_fold_count.py on
    callgrind_annotate cg.on.out | grep 'PROGRAM TOTALS'

(the same for ``off`` and ``none``; two runs of one variant differ by less than 0.01 %).
"""

from __future__ import annotations

import argparse
import gc
import sys
from datetime import UTC, datetime
from typing import Any

from live_fold import bench_registry, bench_steps

from rating.catalog.loader import load_catalog
from streams.live import native
from streams.live.fold import fold_step
from streams.live.resolve import Resolver

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["on", "off", "none"])
    ap.add_argument("--events-per-step", type=int, default=20_000)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    if args.mode == "on" and native.kernel is None:
        ap.error("the native kernel is not installed (make venv with cargo on the PATH)")
    steps = bench_steps(args.events_per_step, args.steps, NOW)
    resolver = Resolver(bench_registry(), load_catalog())
    native.kernel = native.kernel if args.mode == "on" else None
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as the worker sets it (streams/worker/run.py)
    table: dict[str, Any] = {}
    if args.mode != "none":
        for events in steps:
            out = fold_step(events, {a: table.get(a) for a in {e.account_id for e in events}}, resolver, NOW)
            table.update(out.states)
    print(f"{args.mode}: {args.steps} steps of {args.events_per_step:,} events, {len(table):,} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
