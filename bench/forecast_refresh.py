"""Forecast refresh benchmark: what refreshing the ClickHouse ``forecasts`` after a settlement run costs.

The refresh runs after every settlement run for the accounts whose settled hours moved (docs/forecasting.md,
"After settlement"). This writes N accounts' usage straight into an embedded chDB directory — API calls in
four hours of each day (each account its own hours) and AI requests of two models, over sixteen weeks and
half a period — settles it, and times ``ForecastRefresh.run``: for every account (a run that touched them all,
the worst case) and for the accounts with usage in the last settled hour (a typical hourly run). Prints the
figures for docs/forecasting.md. No Kafka needed.

    python bench/forecast_refresh.py [--accounts 1000] [--days 127]
"""

from __future__ import annotations

import argparse
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
from rating.subscriptions import SubscriptionVersion  # noqa: E402
from sinks.clickhouse.forecasts import Forecasts  # noqa: E402
from sinks.clickhouse.migrations import migrate  # noqa: E402
from sinks.clickhouse.settlement import SettlementStore  # noqa: E402
from streams.settlement.forecast_refresh import ForecastRefresh  # noqa: E402
from streams.settlement.settler import Settler  # noqa: E402
from streams.store.db import database_url, make_engine, sessions  # noqa: E402
from streams.subscriptions.registry import SubscriptionRegistry  # noqa: E402

TIERS = ("free", "standard", "enterprise")
MODELS = ("openai/gpt-4o-mini", "anthropic/claude-3-5-haiku")


def _events(n: int, day0: datetime, days: int) -> list[bytes]:
    out = []
    for d in range(days):
        for i in range(n):
            acct = f"acct-{i:05d}"
            for k in range(4):
                hour = (i + 6 * k) % 24
                ts = int((day0 + timedelta(days=d, hours=hour, minutes=7)).timestamp() * 1000)
                out.append(
                    orjson.dumps(
                        {
                            "event_id": f"c{d}-{i}-{k}",
                            "account_id": acct,
                            "user_id": acct,
                            "metric": "api_calls",
                            "quantity": str(200 + (i * 7 + d) % 150),
                            "ts_ms": ts,
                            "source": "bench",
                        }
                    )
                )
            ts = int((day0 + timedelta(days=d, hours=i % 24, minutes=9)).timestamp() * 1000)
            provider, model = MODELS[(i + d) % 3 == 0].split("/")
            out.append(
                orjson.dumps(
                    {
                        "event_id": f"a{d}-{i}",
                        "account_id": acct,
                        "user_id": acct,
                        "metric": "ai_requests",
                        "quantity": "1",
                        "ts_ms": ts,
                        "properties": {"provider": provider, "model": model, "input_tokens": "800"},
                        "source": "bench",
                    }
                )
            )
    return out


def _subscription(i: int, anchor: date, start: datetime) -> SubscriptionVersion:
    """Account ``i`` on a tier in turn, anchored on ``anchor`` (the accounts' periods differ: 28 anchors)."""
    fields = {"account_kind": "user", "tier": TIERS[i % 3], "anchor": anchor, "effective_from": start, "version": 1}
    return SubscriptionVersion.model_validate({"account_id": f"acct-{i:05d}", **fields})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--days", type=int, default=127, help="days of usage (default 127: sixteen weeks + 15)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-forecast-refresh-")
    path = Path(tmp.name)
    client = clickhouse_connect.get_client(dsn=f"chdb://{path / 'ch'}")
    migrate(client, "bench", datetime.now(UTC))
    day0 = datetime(2026, 3, 1, tzinfo=UTC)  # the catalog starts on 2026-01-01; the first periods after it
    watermark = day0 + timedelta(days=args.days - 1, hours=12)  # half of the last day settled
    registry = SubscriptionRegistry()
    first = (watermark - timedelta(days=15)).date().replace(day=1)
    registry.apply([_subscription(i, first + timedelta(days=i % 28), day0) for i in range(args.accounts)])
    t0 = time.perf_counter()
    rows = 0
    for d0 in range(0, args.days, 7):
        chunk = _events(args.accounts, day0 + timedelta(days=d0), min(7, args.days - d0))
        client.raw_insert("bench.events", None, insert_block=b"\n".join(chunk) + b"\n", fmt="JSONEachRow")
        rows += len(chunk)
    load_s = time.perf_counter() - t0
    settler = Settler(
        SettlementStore(client, "bench"),
        load_catalog(),
        registry.history,
        registry.accounts,
        grace=timedelta(days=400),  # no invoices: the bench is the forecast's
        visibility_margin=timedelta(0),
    )
    t0 = time.perf_counter()
    settler.settle(watermark - timedelta(hours=1), datetime.now(UTC))
    settle_s = time.perf_counter() - t0
    # The last settled hour: its run touches the accounts with usage in it.
    last = settler.settle(watermark, datetime.now(UTC))
    make = sessions(make_engine(database_url(path, None)))
    refresh = ForecastRefresh(settler, registry.history, Forecasts(client, "bench"), make)
    now = watermark + timedelta(minutes=5)
    every = [f"acct-{i:05d}" for i in range(args.accounts)]
    t0 = time.perf_counter()
    full = refresh.run(every, watermark, now, budgeted=False)
    all_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hourly = refresh.run(last.accounts, last.until, now, daily=True)
    hour_s = time.perf_counter() - t0
    per = all_s / max(full.forecast, 1)
    print(f"accounts                         {args.accounts:,} ({args.days} days, {rows:,} events)")
    print(f"loaded                           {load_s:.1f}s")
    print(f"settled                          {settle_s:.1f}s")
    print(f"refresh, every account           {all_s:.1f}s for {full.forecast:,} ({per * 1000:.1f} ms an account)")
    print(f"refresh, the last hour's run     {hour_s:.1f}s for {hourly.forecast:,} accounts with usage in that hour")
    print(f"failed                           {len(full.failed) + len(hourly.failed)}")
    print(f"projected, 10,000 accounts all   {per * 10_000:.0f}s a run")
    client.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
