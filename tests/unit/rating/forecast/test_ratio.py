"""A premium feature forecast from the account's API calls (rating.forecast.ratio), worked by hand."""

from __future__ import annotations

import math

import pytest

from rating.forecast.method import Z80, QuantityForecast, forecast_quantity
from rating.forecast.ratio import forecast_by_ratio, forecast_metrics, uses_per_driver

CALLS = 1000.0
DAYS = 28
RESEARCH = "premium_feature:deep_research"


def _calls_forecast(sd: float) -> QuantityForecast:
    # 14 days of 1,000 calls so far, 14,000 more expected, an 80 % band of ±Z80·sd.
    return QuantityForecast(14_000.0, 28_000.0, 28_000.0 - Z80 * sd, 28_000.0 + Z80 * sd, 14)


def test_uses_per_call_over_the_window() -> None:
    # 105 uses over 42,000 calls: 0.0025 a call, 2.5 expected a day; each day 0.5 off, squares
    # 42 * 0.25 = 10.5 over 105 uses = 0.1, times 42/41 for the ratio fitted.
    ratio, dispersion = uses_per_driver([2.0, 3.0] * 21, [CALLS] * 42)
    assert ratio == pytest.approx(0.0025)
    assert dispersion == pytest.approx(0.1 * 42 / 41)
    # Poisson-like counts around a steady ratio: a dispersion near 1.
    assert uses_per_driver([0.0, 2.0] * 21, [CALLS] * 42)[1] == pytest.approx(42 / 41)
    assert uses_per_driver([0.0] * 5, [CALLS] * 5) == (0.0, 0.0)
    assert uses_per_driver([1.0] * 5, [0.0] * 5) == (0.0, 0.0)


def test_remaining_uses_follow_the_calls_forecast() -> None:
    f = forecast_by_ratio([2.0, 3.0] * 14, [2.0, 3.0] * 7, [CALLS] * 28, [CALLS] * 14, _calls_forecast(1000.0))
    assert f is not None
    # 35 used so far; 0.0025 * 14,000 remaining calls = 35 more.
    assert f.to_date == 35.0
    assert f.expected == pytest.approx(70.0)
    # var = (0.0025·1000)² calls + φ·35 noise + φ/105·35² ratio, φ = 4.2/41
    phi = 4.2 / 41
    sd = math.sqrt(6.25 + phi * 35 + phi / 105 * 35**2)
    assert f.p90 == pytest.approx(70.0 + Z80 * sd)
    assert f.p10 == pytest.approx(70.0 - Z80 * sd)
    assert f.remaining_days == 14


def test_stopped_calls_stop_the_feature() -> None:
    stopped = QuantityForecast(14_000.0, 14_000.0, 14_000.0, 14_000.0, 14)
    f = forecast_by_ratio([2.0, 3.0] * 14, [2.0, 3.0] * 7, [CALLS] * 28, [CALLS] * 14, stopped)
    assert f is not None
    assert (f.expected, f.p10) == (35.0, 35.0)


def test_no_uses_or_no_calls_leaves_it_to_its_own_series() -> None:
    assert forecast_by_ratio([0.0] * 28, [0.0] * 14, [CALLS] * 28, [CALLS] * 14, _calls_forecast(0.0)) is None
    assert forecast_by_ratio([1.0] * 28, [1.0] * 14, [0.0] * 28, [0.0] * 14, _calls_forecast(0.0)) is None
    with pytest.raises(ValueError):
        forecast_by_ratio([1.0] * 27, [1.0] * 14, [CALLS] * 28, [CALLS] * 14, _calls_forecast(0.0))


def test_forecast_metrics_drives_premium_features_by_the_calls() -> None:
    history = {"api_calls": [CALLS] * 28, RESEARCH: [2.0, 3.0] * 14}
    current = {"api_calls": [CALLS] * 14, RESEARCH: [2.0, 3.0] * 7}
    out = forecast_metrics(history, current, DAYS, first_weekday=0)
    calls = forecast_quantity(history["api_calls"], current["api_calls"], DAYS, 0)
    assert out["api_calls"] == calls
    assert out["api_calls"].expected == pytest.approx(28_000.0)
    assert out[RESEARCH].expected == pytest.approx(35.0 + 0.0025 * (calls.expected - calls.to_date))


def test_forecast_metrics_without_calls_or_history_uses_the_series_itself() -> None:
    own = forecast_metrics({RESEARCH: [4.0] * 28}, {RESEARCH: [4.0] * 14}, DAYS, first_weekday=0)
    assert own[RESEARCH] == forecast_quantity([4.0] * 28, [4.0] * 14, DAYS, 0)
    fresh = forecast_metrics({}, {}, DAYS, first_weekday=0, typical_daily={"api_calls": 100.0})
    assert fresh == {}


def test_forecast_metrics_takes_missing_days_as_no_usage() -> None:
    # As daily_series gives them: a feature first used in the period has no history list at all.
    history = {"api_calls": [CALLS] * 28}
    current = {"api_calls": [CALLS] * 14, RESEARCH: [2.0, 3.0] * 7}
    out = forecast_metrics(history, current, DAYS, first_weekday=0)
    # 35 uses over the 42,000 calls of the window: 35/42,000 of the 14,000 calls to come.
    assert out[RESEARCH].expected == pytest.approx(35.0 + 35.0 / 42_000 * 14_000)
    # A feature without use this period (padded zero days): no longer used, nothing more expected.
    quiet = forecast_metrics({"api_calls": [CALLS] * 28, RESEARCH: [1.0] * 28}, {"api_calls": [CALLS] * 14}, DAYS, 0)
    assert (quiet[RESEARCH].expected, quiet[RESEARCH].p90) == (0.0, 0.0)


def test_a_dropped_feature_is_one_whose_last_zero_run_is_its_longest() -> None:
    calls = _calls_forecast(0.0)
    weekdays_only = [3.0] * 5 + [0.0] * 2  # quiet weekends: zero runs of two
    # Ending on zero runs of two (weekends) is usage as usual; three zero days, longer than any before, is not.
    sparse = forecast_by_ratio(weekdays_only * 4, weekdays_only * 2, [CALLS] * 28, [CALLS] * 14, calls)
    assert sparse is not None and sparse.expected > sparse.to_date
    dropped = forecast_by_ratio(weekdays_only * 4, [3.0] * 11 + [0.0] * 3, [CALLS] * 28, [CALLS] * 14, calls)
    assert dropped is not None and dropped.expected == dropped.to_date == 33.0
