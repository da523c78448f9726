"""A step's plain counter groups rated by the native kernel and in Python, the rest of the step left out.

``fold_step`` (streams/live/fold.py) hands each plain counter group — ``api_calls`` in today's catalog —
to the kernel (rating/live/kernel) in one call: the usage text and the group's events in, the entry's text,
rated line and quota-state record out. This times that work alone on the benchmark's events, both ways,
alternating round by round in one process (CPU time, best and range of the rounds): what the kernel
replaces per group, and what crossing into it costs (a call with no events). No stack needed.

    python bench/live_kernel.py [--events 100000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from common import alternating
from live_fold import bench_registry, bench_steps

from rating.catalog.loader import load_catalog
from rating.money import ZERO, fixed_text
from rating.quota import delta_parts
from schemas.events import AcceptedEvent
from streams.live import native
from streams.live.records import Templates
from streams.live.resolve import Resolver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    if native.kernel is None:
        ap.error("the native kernel is not installed (make venv with cargo on the PATH)")
    now = datetime.now(UTC)
    resolver = Resolver(bench_registry(), load_catalog())
    # Two steps: the second's groups find the first's usage in their slots, as in a running worker.
    steps = bench_steps(args.events, 2, now)
    templates = Templates(now.isoformat())
    used: dict[tuple[str, str], str] = {}
    work: list[tuple[Any, Any, str | None, list[AcceptedEvent]]] = []
    for k, events in enumerate(steps):
        groups: dict[tuple[str, str], list[AcceptedEvent]] = {}
        for e in events:
            if e.metric not in native.NOT_PLAIN:
                groups.setdefault((e.account_id, e.metric), []).append(e)
        for (account, metric), evs in groups.items():
            t = resolver.at(evs[0].org_id or evs[0].user_id, evs[0].org_id is not None, evs[0].ts_ms)
            assert t is not None
            rule = t.rule(metric)
            tpl = templates.of(len(work), t, metric, rule, t.tier.rate_limit_per_minute)
            before = used.get((account, metric))
            if k == 1:
                work.append((tpl, rule, before, evs))
            after = (Decimal(before) if before else ZERO) + sum([e.quantity for e in evs], ZERO)
            used[account, metric] = fixed_text(after)
    groups_n = len(work)

    def python() -> None:
        for tpl, rule, before_text, evs in work:
            before = Decimal(before_text) if before_text is not None else ZERO
            after = before + sum([e.quantity for e in evs], ZERO)
            used_text = fixed_text(after)
            _, inc, bill, price, amount = delta_parts(rule, before, after)
            Templates.rated_line(tpl, fixed_text(after - before), used_text, inc, bill, price, amount, None)
            Templates.quota_record(tpl, after)

    def kernel() -> None:
        for tpl, _, before_text, evs in work:
            Templates.counter(tpl).rate(tpl[0], before_text, evs)

    empty: list[AcceptedEvent] = []

    def crossing() -> None:
        for tpl, _, before_text, _ in work:
            Templates.counter(tpl).rate(tpl[0], before_text, empty)

    declined = sum(Templates.counter(tpl).rate(tpl[0], b, evs) is None for tpl, _, b, evs in work)
    fns = {"Python": python, "kernel": kernel, "kernel, no events (the crossing)": crossing}
    spent = {name: [s / groups_n * 1e6 for s in secs] for name, secs in alternating(fns, args.rounds).items()}
    events_n = sum(len(w[3]) for w in work)
    print(f"{groups_n:,} plain counter groups of a {args.events:,}-event step, {events_n / groups_n:.1f} events each")
    for name, per in spent.items():
        print(
            f"{name}: best {min(per):.2f} CPU µs a group (range {min(per):.2f} to {max(per):.2f}, "
            f"median {statistics.median(per):.2f}, {args.rounds} rounds)"
        )
    print(f"declined by the kernel (rated in Python): {declined:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
