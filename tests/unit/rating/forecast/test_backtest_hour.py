"""The simulated backtest at an hour of the check day (rating.forecast.backtest, fourth round), worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.forecast.backtest import AccountSeries, backtest_account, day_shape
from rating.forecast.intraday import day_profile, share_before


def _office_account() -> str:
    return next(f"acct-{i}" for i in range(100) if max(day_shape(f"acct-{i}")) > 100 / 24 + 1)


def test_a_flat_account_is_forecast_exactly_at_noon_and_the_naive_one_is_not() -> None:
    # 5,000 calls every day on standard from January 1: each period ends at 5,000 x its days. At noon of day 15
    # the settled part of the day is 5,000 x the share of an office day before noon (12.6 of 32.8 weights).
    account = _office_account()
    share = share_before(day_profile(day_shape(account)), 12)
    assert share == 12.6 / 32.8 or abs(share - 12.6 / 32.8) < 1e-12
    series = AccountSeries(account, "standard", date(2026, 1, 1), date(2026, 1, 1), {"api_calls": [5000.0] * 100})
    catalog = load_catalog().at(datetime(2026, 1, 1, tzinfo=UTC))
    outcomes = [o for o in backtest_account(series, catalog, 100, {}, hour=12) if o.has_history]
    assert outcomes
    for o in outcomes:
        assert o.expected == o.actual  # the rest of today and the days after: 5,000 a day, split as it comes
    # Linear extrapolation of the period so far over 15.5 days undershoots: the morning is less than half a day.
    # March (31 days, $599.99 for 155,000 calls): (75,000 + 5,000 x share) x 31 / 15.5 calls, over the included
    # 100,000 at $0.01, + $49.99.
    march15 = next(o for o in outcomes if o.day == 15 and o.actual == Decimal("599.99"))
    calls = (75_000 + round(5000 * share)) * 31 / 15.5
    assert abs(march15.baseline - (Decimal("49.99") + (Decimal(calls) - 100_000) / 100)) <= Decimal("0.01")
    assert march15.baseline < march15.expected == march15.actual


def test_at_midnight_the_hour_changes_nothing() -> None:
    account = _office_account()
    series = AccountSeries(
        account,
        "standard",
        date(2026, 1, 1),
        date(2026, 1, 1),
        {"api_calls": [4000.0 + 100 * (i % 7) for i in range(100)]},
    )
    catalog = load_catalog().at(datetime(2026, 1, 1, tzinfo=UTC))
    assert backtest_account(series, catalog, 100, {}) == backtest_account(series, catalog, 100, {}, hour=0)
