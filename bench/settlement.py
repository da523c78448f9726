"""Settlement benchmark: N accounts x one month of hourly windows, settled and invoiced from chDB.

Writes one API-call event per account and hour (and a storage reading per account and day) straight
into an embedded chDB directory, then times ``Settler.settle`` over the whole month: the hourly
recompute into usage_hourly, the settled rated lines, and the finalization of every account's invoice.
Prints the figures for BENCHMARKS.md. No Kafka needed.

    python bench/settlement.py --accounts 10000 --days 30
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import clickhouse_connect  # noqa: E402

from rating.catalog.loader import load_catalog  # noqa: E402
from rating.periods import period_containing  # noqa: E402
from rating.subscriptions import SubscriptionVersion  # noqa: E402
from sinks.clickhouse.migrations import migrate  # noqa: E402
from sinks.clickhouse.settlement import SettlementStore  # noqa: E402
from streams.settlement.settler import Settler  # noqa: E402
from streams.subscriptions.registry import SubscriptionRegistry  # noqa: E402

TIERS = ("free", "standard", "enterprise")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--dir", type=Path, default=None, help="chDB directory (default: a temporary one)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-settle-")
    path = args.dir or Path(tmp.name)
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, "bench", datetime.now(UTC))
    anchor = date(2026, 9, 1)
    period = period_containing(anchor, datetime(2026, 9, 2, tzinfo=UTC))
    registry = SubscriptionRegistry()
    registry.apply(
        [
            SubscriptionVersion(
                account_id=f"acct-{i:05d}",
                account_kind="user",
                tier=TIERS[i % 3],
                anchor=anchor,
                effective_from=period.start,
                version=1,
            )
            for i in range(args.accounts)
        ]
    )
    t0 = time.perf_counter()
    rows = 0
    hours = args.days * 24
    for h0 in range(0, hours, 24):
        chunk = []
        for h in range(h0, min(hours, h0 + 24)):
            ts = int((period.start + timedelta(hours=h, minutes=7)).timestamp() * 1000)
            for i in range(args.accounts):
                acct = f"acct-{i:05d}"
                chunk.append(
                    orjson.dumps(
                        {
                            "event_id": f"e{h}-{i}",
                            "account_id": acct,
                            "user_id": acct,
                            "metric": "api_calls",
                            "quantity": str(150 + (i * 7 + h) % 100),
                            "ts_ms": ts,
                            "source": "bench",
                        }
                    )
                )
                if h % 24 == 0:
                    chunk.append(
                        orjson.dumps(
                            {
                                "event_id": f"s{h}-{i}",
                                "account_id": acct,
                                "user_id": acct,
                                "metric": "storage_gb",
                                "quantity": str(10 + h // 24),
                                "ts_ms": ts,
                                "source": "bench",
                            }
                        )
                    )
        client.raw_insert("bench.events", None, insert_block=b"\n".join(chunk) + b"\n", fmt="JSONEachRow")
        rows += len(chunk)
    load_s = time.perf_counter() - t0
    store = SettlementStore(client, "bench")
    settler = Settler(
        store,
        load_catalog(),
        registry.history,
        registry.accounts,
        grace=timedelta(0),
        visibility_margin=timedelta(0),
    )
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    result = settler.settle(period.end + timedelta(hours=1), now)
    settle_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = settler.settle(period.end + timedelta(hours=1), now)
    again_s = time.perf_counter() - t0
    windows = args.accounts * hours
    print(f"accounts                     {args.accounts:,}")
    print(f"events in ClickHouse         {rows:,} (loaded in {load_s:.1f}s)")
    print(f"account-hours settled        {result.windows:,} of {windows:,}")
    print(f"invoices finalized           {len(result.finalized):,}")
    print(f"settle + invoice, one run    {settle_s:.1f}s ({windows / settle_s:,.0f} account-hours/s)")
    print(f"settling again (no-op)       {again_s:.1f}s, {again.windows} windows")
    print(f"peak RSS                     {peak_rss_mib():,.0f} MiB")
    client.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
