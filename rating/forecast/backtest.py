"""Backtesting: replay daily history, forecast at days 7, 15 and 25 of each period, compare with the
invoice the period actually got; the same for linear extrapolation of the period to date (the
baseline to beat). Pure: the accounts' daily series are passed in (``meterline forecast backtest``).
"""

from __future__ import annotations

import statistics
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from rating.catalog.model import CatalogVersion
from rating.forecast.intraday import day_profile, share_before, with_today
from rating.forecast.method import DEFAULT_TUNING, QuantityForecast, Tuning
from rating.forecast.pricing import price_forecast
from rating.forecast.ratio import forecast_metrics
from rating.periods import Period, next_period, period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

CHECK_DAYS = (7, 15, 25)
HISTORY_DAYS = 112  # what the method looks back at (rating.forecast.method.SEASON_DAYS)


@dataclass(frozen=True, slots=True)
class AccountSeries:
    """One account's daily usage from ``start``: ``daily["api_calls"]``, ``daily["premium_feature:<f>"]``."""

    account_id: str
    tier: str
    anchor: date
    start: date
    daily: Mapping[str, Sequence[float]]
    seats: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One account-period forecast at one day, against the actual invoice total."""

    account_id: str
    tier: str
    day: int
    has_history: bool
    actual: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    baseline: Decimal

    @property
    def ape(self) -> float:
        return float(abs(self.expected - self.actual) / self.actual)

    @property
    def baseline_ape(self) -> float:
        return float(abs(self.baseline - self.actual) / self.actual)

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high


@dataclass
class Summary:
    count: int = 0
    mape: float = 0.0
    median_ape: float = 0.0
    coverage: float = 0.0
    baseline_mape: float = 0.0
    baseline_median_ape: float = 0.0
    by_tier: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mape": round(self.mape, 4),
            "median_ape": round(self.median_ape, 4),
            "coverage_80": round(self.coverage, 4),
            "baseline_mape": round(self.baseline_mape, 4),
            "baseline_median_ape": round(self.baseline_median_ape, 4),
            "median_improvement": round(1 - self.median_ape / self.baseline_median_ape, 4)
            if self.baseline_median_ape
            else None,
            "by_tier": self.by_tier,
        }


def _stats(rows: Sequence[Outcome]) -> dict[str, float]:
    apes = [r.ape for r in rows]
    base = [r.baseline_ape for r in rows]
    return {
        "count": len(rows),
        "mape": round(statistics.fmean(apes), 4),
        "median_ape": round(statistics.median(apes), 4),
        "coverage_80": round(sum(r.inside for r in rows) / len(rows), 4),
        "baseline_mape": round(statistics.fmean(base), 4),
        "baseline_median_ape": round(statistics.median(base), 4),
    }


def summarize(outcomes: Iterable[Outcome], day: int, *, has_history: bool) -> Summary:
    rows = [o for o in outcomes if o.day == day and o.has_history == has_history and o.actual > 0]
    if not rows:
        return Summary()
    s = _stats(rows)
    tiers: dict[str, list[Outcome]] = defaultdict(list)
    for r in rows:
        tiers[r.tier].append(r)
    return Summary(
        count=len(rows),
        mape=s["mape"],
        median_ape=s["median_ape"],
        coverage=s["coverage_80"],
        baseline_mape=s["baseline_mape"],
        baseline_median_ape=s["baseline_median_ape"],
        by_tier={t: _stats(rs) for t, rs in sorted(tiers.items())},
    )


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def day_shape(account_id: str) -> list[float]:
    """The simulated hours of an account's day (the simulated world is daily; ``backtest_account`` at an hour
    splits each day by this shape): office hours (08:00-18:00, most from 10:00 to 16:00, a little at night) for
    three accounts in five, even hours for the others. Deterministic per account. In % of the day's usage (the
    usage of each hour of a 100-unit day: ``intraday.day_profile`` takes it as the history's hour totals)."""
    weights = [1.0] * 24
    if zlib.crc32(account_id.encode()) % 5 < 3:
        weights = [0.2] * 8 + [1.0, 2.0] + [4.0] * 6 + [2.0, 1.0] + [0.2] * 6
    return [100 * w / sum(weights) for w in weights]


def _usage(
    daily: Mapping[str, Sequence[float]], lo: int, hi: int, seats: int, extra: Mapping[str, float] | None = None
) -> PeriodUsage:
    """Whole days [lo, hi) plus ``extra`` (the settled hours of the day after them)."""
    more = extra or {}

    def total(key: str) -> Decimal:
        return Decimal(int(sum(daily[key][lo:hi]) + more.get(key, 0.0)))

    premium = {k.split(":", 1)[1]: total(k) for k in daily if k.startswith("premium_feature:")}
    return PeriodUsage(
        api_calls=total("api_calls"),
        premium_features={k: q for k, q in premium.items() if q},
        seats=seats,
    )


def backtest_account(
    account: AccountSeries,
    catalog: CatalogVersion,
    days: int,
    typical_daily: Mapping[str, Mapping[str, float]],
    tuning: Tuning = DEFAULT_TUNING,
    hour: int = 0,
) -> list[Outcome]:
    """Every whole period inside the account's ``days`` days, forecast at each of CHECK_DAYS (at ``hour`` of
    that day: its hours before it settled, split by ``day_shape``; the product's day in progress)."""
    profile = day_profile(day_shape(account.account_id))
    share = share_before(profile, hour)
    history = SubscriptionHistory(
        account.account_id,
        [
            SubscriptionVersion(
                account_id=account.account_id,
                account_kind="org" if account.seats else "user",
                tier=account.tier,
                anchor=account.anchor,
                effective_from=_midnight(account.start),
                version=1,
            )
        ],
    )
    end = _midnight(account.start + timedelta(days=days))
    period: Period = period_containing(account.anchor, _midnight(account.start))
    if period.start < _midnight(account.start):
        period = next_period(account.anchor, period)
    out: list[Outcome] = []
    first = True
    while period.end <= end:
        p0 = (period.start.date() - account.start).days
        length = (period.end - period.start).days
        actual = price_forecast(history, [_usage(account.daily, p0, p0 + length, account.seats)], period, catalog, {})
        for day in CHECK_DAYS:
            upto = p0 + day
            hist = {m: [] if first else s[max(p0 - HISTORY_DAYS, 0) : p0] for m, s in account.daily.items()}
            cur = {m: s[p0:upto] for m, s in account.daily.items()}
            typical = typical_daily.get(account.tier, {})
            wd = period.start.weekday()
            forecasts = forecast_metrics(hist, cur, length, wd, typical_daily=typical, tuning=tuning)
            today = {m: float(round(s[upto] * share)) for m, s in account.daily.items()} if hour else {}
            if hour:
                alone = forecast_metrics(hist, cur, day + 1, wd, typical_daily=typical, tuning=tuning)
                forecasts = {m: with_today(f, alone[m], today[m], 0.0, share) for m, f in forecasts.items()}
            naive: dict[str, QuantityForecast] = {}
            for metric, f in forecasts.items():
                # The period so far, today's settled hours too, over the days and hours it covers.
                b = (sum(cur[metric]) + today.get(metric, 0.0)) * length / (day + hour / 24)
                naive[metric] = QuantityForecast(f.to_date, b, b, b, f.remaining_days)
            settled = [_usage(account.daily, p0, upto, account.seats, today)]
            priced = price_forecast(history, settled, period, catalog, forecasts)
            base = price_forecast(history, settled, period, catalog, naive)
            out.append(
                Outcome(
                    account.account_id,
                    account.tier,
                    day,
                    not first,
                    actual.expected.total,
                    priced.expected.total,
                    priced.low.total,
                    priced.high.total,
                    base.expected.total,
                )
            )
        first = False
        period = next_period(account.anchor, period)
    return out
