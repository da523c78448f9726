"""The rated lines and quota-state records of a step, built two ways from the same numbers.

Rates the benchmark's steps with the fast path (``fold_step``), keeps what the last step handed to its
records (streams/live/records.py) for every group, then builds those records again, alternating:

- as dicts encoded by orjson (``rate_batch``'s way, and the fast path's before the templates), and
- from the step's templates (``Templates.rated_line`` / ``Templates.quota_record``, the fast path now).

Checks both give the same bytes and prints CPU µs per group and per event of the step for each, so the
part changed is measured without the rest of the step's noise. No stack needed.

    python bench/live_records.py [--events-per-step 100000] [--steps 4] [--rounds 7]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from common import alternating
from live_fold import bench_registry, bench_steps

from rating.catalog.loader import load_catalog
from rating.quota import quota_record
from streams.live import native
from streams.live.fold import fold_step
from streams.live.rating import rated_line
from streams.live.records import Templates
from streams.live.resolve import Resolver

Calls = list[tuple[Any, ...]]


def as_dicts(groups: Calls, lines: Calls, quotas: Calls, at: str) -> list[bytes]:
    out = []
    for (_, t, metric, _, _), (_, quantity, ptd, included, billable, unit_price, amount, extra) in zip(
        groups, lines, strict=True
    ):
        numbers = (Decimal(quantity), Decimal(ptd), included, billable, unit_price, amount)
        out.append(rated_line(t, metric, at, *numbers, extra or {}))
    for (_, t, metric, rule, rate_limit), (_, used) in zip(groups, quotas, strict=True):
        out.append(orjson.dumps(quota_record(t.billed, metric, t.period, rule, rate_limit, used, at)))
    return out


def from_templates(groups: Calls, lines: Calls, quotas: Calls, at: str) -> list[bytes]:
    """As the step does it: a template per group (from the step's shared parts), then its two records."""
    templates, line, quota = Templates(at), Templates.rated_line, Templates.quota_record
    tpls = [templates.of(*g) for g in groups]
    return [line(tpl, *args[1:]) for tpl, args in zip(tpls, lines, strict=True)] + [
        quota(tpl, args[1]) for tpl, args in zip(tpls, quotas, strict=True)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events-per-step", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    native.kernel = None  # every group's records written in Python (bench/live_kernel.py times the kernel's)
    n, now = args.events_per_step, datetime.now(UTC)
    resolver = Resolver(bench_registry(), load_catalog())
    table: dict[str, dict[str, Any]] = {}
    groups: Calls = []  # what each group handed Templates.of
    lines: Calls = []
    quotas: Calls = []
    of, rated_line, quota_rec = Templates.of, Templates.rated_line, Templates.quota_record

    def keep_of(self: Templates, tid: int, t: Any, metric: str, rule: Any, rate_limit: int) -> Any:
        groups.append((tid, t, metric, rule, rate_limit))
        return of(self, tid, t, metric, rule, rate_limit)

    def keep_line(*a: Any) -> bytes:
        lines.append(a)
        return rated_line(*a)

    def keep_quota(tpl: Any, used: Decimal) -> bytes:
        quotas.append((tpl, used))
        return quota_rec(tpl, used)

    for events in bench_steps(n, args.steps, now):
        groups.clear()
        lines.clear()
        quotas.clear()
        Templates.of = keep_of  # type: ignore[method-assign]
        Templates.rated_line = staticmethod(keep_line)  # type: ignore[method-assign,assignment]
        Templates.quota_record = staticmethod(keep_quota)  # type: ignore[method-assign,assignment]
        try:
            out = fold_step(events, {a: table.get(a) for a in {e.account_id for e in events}}, resolver, now)
        finally:
            Templates.of, Templates.rated_line, Templates.quota_record = of, rated_line, quota_rec  # type: ignore[method-assign,assignment]
        table.update(out.states)
    at = now.isoformat()
    sent = out.rated + [v for _, v in out.quota_records]
    assert as_dicts(groups, lines, quotas, at) == from_templates(groups, lines, quotas, at) == sent, (
        "not the same bytes"
    )
    gc.collect()
    gc.freeze()
    spent = alternating(
        {
            "dicts through orjson": lambda: as_dicts(groups, lines, quotas, at),
            "templates": lambda: from_templates(groups, lines, quotas, at),
        },
        args.rounds,
    )
    count = len(lines)
    for name, secs in spent.items():
        best, mid = min(secs), statistics.median(secs)
        print(
            f"{name}: CPU µs a group {best / count * 1e6:.2f} (best of {args.rounds}), "
            f"{mid / count * 1e6:.2f} (median); µs an event of the step {best / n * 1e6:.2f}, {mid / n * 1e6:.2f}"
        )
    print(f"{count:,} groups (a rated line and a quota record each) in a step of {n:,} events, step {args.steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
