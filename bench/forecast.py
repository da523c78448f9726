"""Forecast benchmark: every account of a 10,000-account world forecast and priced at day 15 of a period.

Prints accounts, seconds and accounts/s (target: all 10,000 in under a minute, docs/forecasting.md).
Pure: no stack needed.

    python bench/forecast.py [--accounts 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.demo.forecast_world import simulate_world  # noqa: E402
from rating.catalog.loader import load_catalog  # noqa: E402
from rating.catalog.model import CatalogVersion  # noqa: E402
from rating.forecast.backtest import AccountSeries  # noqa: E402
from rating.forecast.pricing import price_forecast  # noqa: E402
from rating.forecast.ratio import forecast_metrics  # noqa: E402
from rating.periods import period_containing  # noqa: E402
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion  # noqa: E402
from rating.usage import PeriodUsage  # noqa: E402

START = date(2026, 1, 1)
DAYS = 200  # the world's length; the forecast is made 15 days into each account's period containing day 185


def _forecast(a: AccountSeries, catalog: CatalogVersion) -> None:
    now = datetime.combine(START + timedelta(days=DAYS - 15), datetime.min.time(), tzinfo=UTC)
    period = period_containing(a.anchor, now)
    p0 = (period.start.date() - START).days
    upto = (now.date() - START).days
    length = (period.end - period.start).days
    version = SubscriptionVersion(
        account_id=a.account_id,
        account_kind="org" if a.seats else "user",
        tier=a.tier,
        anchor=a.anchor,
        effective_from=datetime.combine(START, datetime.min.time(), tzinfo=UTC),
        version=1,
    )
    forecasts = forecast_metrics(
        {m: s[max(p0 - 112, 0) : p0] for m, s in a.daily.items()},
        {m: s[p0:upto] for m, s in a.daily.items()},
        length,
        period.start.weekday(),
    )
    settled = PeriodUsage(
        api_calls=_dec(sum(a.daily["api_calls"][p0:upto])),
        premium_features={"deep_research": _dec(sum(a.daily["premium_feature:deep_research"][p0:upto]))},
        seats=a.seats,
    )
    price_forecast(SubscriptionHistory(a.account_id, [version]), [settled], period, catalog, forecasts)


def _dec(x: float) -> Decimal:
    return Decimal(int(x))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--accounts", type=int, default=10_000)
    args = p.parse_args()
    world = simulate_world(1, args.accounts, START, DAYS)
    catalog = load_catalog().at(datetime(2026, 1, 1, tzinfo=UTC))
    t0 = time.perf_counter()
    for a in world:
        _forecast(a, catalog)
    secs = time.perf_counter() - t0
    print(f"accounts={len(world)} seconds={secs:.1f} accounts_per_second={len(world) / secs:.0f}")


if __name__ == "__main__":
    main()
