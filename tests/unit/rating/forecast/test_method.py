"""The forecast method on synthetic series with known answers (issue #18 proof)."""

from __future__ import annotations

import random

import pytest

from rating.forecast.method import forecast_quantity, linear_extrapolation, weekday_factors

DAYS = 30


def _weekly(day_index: int, first_weekday: int = 0) -> float:
    """1,000 a weekday, 200 on Saturday and Sunday."""
    return 200.0 if (first_weekday + day_index) % 7 >= 5 else 1000.0


def test_flat_series_forecasts_its_level_with_a_tight_interval() -> None:
    f = forecast_quantity([500.0] * 60, [500.0] * 15, DAYS, first_weekday=0)
    assert f.expected == pytest.approx(15_000, rel=1e-9)
    assert f.to_date == 7_500
    assert f.p10 <= f.expected <= f.p90
    assert f.p90 - f.p10 < 0.3 * f.expected


@pytest.mark.parametrize("growth", [0.01, -0.01])
def test_a_steady_growth_rate_is_followed(growth: float) -> None:
    series = [1000.0 * (1 + growth) ** i for i in range(90)]  # 60 days of history, then the period
    truth = sum(series[60:])
    f = forecast_quantity(series[:60], series[60:75], DAYS, first_weekday=0)
    naive = linear_extrapolation(series[60:75], DAYS)
    assert abs(f.expected - truth) / truth < 0.01  # damping leaves a little
    assert abs(f.expected - truth) < abs(naive - truth) / 5


def test_weekly_rhythm_is_projected_onto_the_remaining_weekdays() -> None:
    # Period starts on a Monday; 7 days observed (a whole week), 23 to go: 17 weekdays and 6 weekend days.
    hist = [_weekly(i - 56) for i in range(56)]
    cur = [_weekly(i) for i in range(7)]
    truth = sum(_weekly(i) for i in range(DAYS))
    f = forecast_quantity(hist, cur, DAYS, first_weekday=0)
    assert f.expected == pytest.approx(truth, rel=0.01)
    # Observed Monday-Friday only: the naive baseline overshoots, the method does not.
    f5 = forecast_quantity(hist, cur[:5], DAYS, first_weekday=0)
    assert abs(f5.expected - truth) / truth < 0.01
    assert linear_extrapolation(cur[:5], DAYS) > truth * 1.15


def test_weekday_factors_recover_the_rhythm() -> None:
    values = [_weekly(i) for i in range(56)]
    factors = weekday_factors(values, [i % 7 for i in range(56)])
    assert factors[0] / factors[6] == pytest.approx(5.0, rel=0.15)
    assert sum(factors) == pytest.approx(7.0)
    assert weekday_factors(values[:10], [i % 7 for i in range(10)]) == [1.0] * 7


def test_a_spike_counts_once_and_does_not_lift_the_rest() -> None:
    cur = [1000.0] * 15
    cur[12] = 20_000.0
    f = forecast_quantity([1000.0] * 60, cur, DAYS, first_weekday=0)
    truth = sum(cur) + 1000.0 * 15
    assert f.expected == pytest.approx(truth, rel=0.03)
    assert linear_extrapolation(cur, DAYS) > truth * 1.2


def test_an_account_that_stopped_expects_nothing_more() -> None:
    cur = [800.0] * 10 + [0.0] * 5
    f = forecast_quantity([800.0] * 30, cur, DAYS, first_weekday=3)
    assert f.expected == f.to_date == 8_000
    assert f.p10 == f.to_date


def test_no_history_uses_the_typical_profile_with_a_wide_interval() -> None:
    f = forecast_quantity([], [], DAYS, first_weekday=0, typical_daily=100.0)
    assert f.expected == 3_000
    assert f.p90 - f.p10 > 0.8 * f.expected
    young = forecast_quantity([], [100.0, 120.0, 80.0], DAYS, first_weekday=0)
    assert young.expected == pytest.approx(3_000)
    assert young.p90 - young.p10 > 0.8 * (young.expected - young.to_date)


def test_noise_gives_an_interval_that_holds_the_truth_about_80_percent() -> None:
    rng = random.Random(7)
    inside = 0
    trials = 300
    for _ in range(trials):
        series = [max(rng.gauss(1000.0, 250.0), 0.0) for _ in range(90)]
        f = forecast_quantity(series[:60], series[60:75], DAYS, first_weekday=0)
        inside += f.p10 <= sum(series[60:]) <= f.p90
    assert 0.7 <= inside / trials <= 0.95


def test_the_period_end_is_known_exactly() -> None:
    f = forecast_quantity([1.0] * 5, [2.0] * DAYS, DAYS, first_weekday=0)
    assert (f.expected, f.p10, f.p90, f.remaining_days) == (60.0, 60.0, 60.0, 0)
    with pytest.raises(ValueError):
        forecast_quantity([], [1.0] * 31, DAYS, first_weekday=0)
