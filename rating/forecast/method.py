"""Where one metric of one account ends the period: an expected value and an 80 % interval.

The input is the account's daily usage: the days of the current period so far and the days before it
(prior periods). Statistics are floats (a forecast is an estimate); money is never computed here —
``rating.forecast.pricing`` prices the quantities with the invoice's own code.

The method (docs/forecasting.md), chosen over linear extrapolation of the period to date because
accounts have weekly rhythms, trends, spikes and stop mid-period:

1. day-of-week factors from the last sixteen weeks (each day against its centred week's mean; the
   median per weekday, shrunk towards 1 while there are fewer than three weeks);
2. the series divided by them, one-off spikes (far above the window's median) replaced by the median;
3. level and trend by weighted least squares of the logarithms over the last sixteen weeks (recent
   days weigh more), the trend damped over the horizon;
4. an account whose last days are all zero after usage has stopped: nothing more is expected;
5. the remaining days are level + damped trend times each day's weekday factor;
6. the interval from the residual spread, the level's and the trend's uncertainty, and a share of the
   remaining usage for changes no history shows (calibrated by ``meterline forecast backtest``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Z80 = 1.2815515655446004  # the normal's 90th percentile: p10/p90 bound an 80 % interval
WEEK = 7
SEASON_DAYS = 112  # sixteen weeks for the weekday factors
FIT_DAYS = 112  # the window of the level and trend (longer windows won in the backtest: docs/forecasting.md)
HALF_LIFE = 40.0  # days: the weight of a day in the fit halves every HALF_LIFE days back
DAMPING = 0.97  # the trend's daily damping over the horizon
SPIKE = 6.0  # a deseasonalized day this many robust sds above the window's median is a spike
SPIKE_FLOOR = 0.15  # the robust sd is at least this share of the median (flat series have none)
STOPPED_DAYS = 3  # this many zero days after usage: the account has stopped


@dataclass(frozen=True, slots=True)
class Tuning:
    """The interval's parameters, calibrated by the backtest (docs/forecasting.md)."""

    noise: float = 1.0  # multiplies the residual spread of the remaining days
    drift: float = 0.06  # share of the remaining usage added as unexplained change (sd)
    no_history: float = 0.5  # relative sd of a forecast from a tier's typical profile only


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True, slots=True)
class QuantityForecast:
    """A metric's period-end quantity: what is known, what is expected, and the 80 % interval."""

    to_date: float
    expected: float
    p10: float
    p90: float
    remaining_days: int


def weekday_factors(values: Sequence[float], weekdays: Sequence[int]) -> list[float]:
    """A factor per weekday (0 = Monday), mean 1; all 1 with less than two weeks of data."""
    n = len(values)
    if n < 2 * WEEK:
        return [1.0] * WEEK
    ratios: list[list[float]] = [[] for _ in range(WEEK)]
    for i in range(3, n - 3):
        mean = sum(values[i - 3 : i + 4]) / WEEK
        if mean > 0:
            ratios[weekdays[i]].append(values[i] / mean)
    if any(not r for r in ratios):
        return [1.0] * WEEK
    raw = [statistics.median(r) for r in ratios]
    weeks = min(len(r) for r in ratios)
    shrink = 1.0 if weeks >= 3 else weeks / (weeks + 1.0)  # few weeks: trust the factors less
    shrunk = [1.0 + (f - 1.0) * shrink for f in raw]
    mean = sum(shrunk) / WEEK
    if mean <= 0:
        return [1.0] * WEEK
    return [max(f / mean, 0.0) for f in shrunk]


@dataclass(frozen=True, slots=True)
class _Fit:
    level: float  # at the last observed day
    slope: float  # per day
    sigma: float  # residual sd of one day
    level_se: float
    slope_se: float


def _fit(y: Sequence[float]) -> _Fit:
    """Weighted least squares of y on day number, the last day at x = 0 (so the intercept is the level)."""
    n = len(y)
    xs = [float(i - (n - 1)) for i in range(n)]
    ws = [0.5 ** (-x / HALF_LIFE) for x in xs]
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / sw
    my = sum(w * v for w, v in zip(ws, y, strict=True)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
    slope = sum(w * (x - mx) * (v - my) for w, x, v in zip(ws, xs, y, strict=True)) / sxx if n >= WEEK else 0.0
    level = my - slope * mx
    resid = [v - (level + slope * x) for x, v in zip(xs, y, strict=True)]
    dof = max(n - 2, 1)
    sigma = math.sqrt(sum(w * r * r for w, r in zip(ws, resid, strict=True)) / sw * n / dof) if n > 1 else 0.0
    n_eff = sw * sw / sum(w * w for w in ws)
    level_se = sigma * math.sqrt(1.0 / n_eff + (mx * mx / sxx if sxx > 0 else 0.0))
    slope_se = sigma / math.sqrt(sxx) if sxx > 0 and n >= WEEK else 0.0
    return _Fit(level, slope, sigma, level_se, slope_se)


def _despiked(y: Sequence[float]) -> list[float]:
    """Days far above the window's median (a one-off spike) count as an ordinary day in the fit; the
    spike itself is in the period to date, and a lasting shift soon moves the median."""
    med = statistics.median(y)
    if med <= 0:
        return list(y)
    mad = statistics.median(abs(v - med) for v in y)
    limit = med + SPIKE * max(1.4826 * mad, SPIKE_FLOOR * med)
    return [med if v > limit else v for v in y]


def _log_fit(y: Sequence[float]) -> _Fit:
    """The fit in logarithms when every day has usage: growth is a rate, noise multiplies. Back on the
    original scale at the last day (mean of a log-normal: exp(mu + sigma^2 / 2))."""
    if min(y) <= 0:
        return _fit(y)
    f = _fit([math.log(v) for v in y])
    level = math.exp(f.level + f.sigma * f.sigma / 2)
    return _Fit(level, level * math.expm1(f.slope), level * f.sigma, level * f.level_se, level * f.slope_se)


def _stopped(values: Sequence[float]) -> bool:
    tail = values[-STOPPED_DAYS:]
    return len(values) > STOPPED_DAYS and all(v == 0 for v in tail) and any(v > 0 for v in values[:-STOPPED_DAYS])


def forecast_quantity(
    history: Sequence[float],
    current: Sequence[float],
    days_in_period: int,
    first_weekday: int,
    *,
    typical_daily: float = 0.0,
    tuning: Tuning = DEFAULT_TUNING,
) -> QuantityForecast:
    """The period-end total of a summed metric.

    ``history`` are the daily quantities of the days right before the period (oldest first, any
    length), ``current`` those of the period's days so far (the last may be partial: pass what is
    settled), ``first_weekday`` the weekday of the period's first day (0 = Monday). ``typical_daily``
    is the tier's typical daily usage, used when the account has no days at all.
    """
    if not 0 <= len(current) <= days_in_period:
        raise ValueError(f"{len(current)} days observed in a period of {days_in_period}")
    to_date = float(sum(current))
    remaining = days_in_period - len(current)
    if remaining == 0:
        return QuantityForecast(to_date, to_date, to_date, to_date, 0)
    # Days before the account's first usage say nothing about it: a young account is not a stopped one.
    first = next((i for i, v in enumerate(history) if v > 0), len(history))
    history = history[first:]
    series = [float(v) for v in (*history, *current)]
    start_wd = (first_weekday - len(history)) % WEEK
    weekdays = [(start_wd + i) % WEEK for i in range(len(series))]
    future_wd = [(first_weekday + len(current) + h) % WEEK for h in range(remaining)]
    if not series:
        expected = to_date + typical_daily * remaining
        sd = typical_daily * remaining * tuning.no_history
        return _interval(to_date, expected, sd, remaining)
    if _stopped(series):
        return QuantityForecast(to_date, to_date, to_date, to_date + tuning.drift * to_date, remaining)
    recent = series[-max(SEASON_DAYS, FIT_DAYS) :]
    factors = weekday_factors(recent, weekdays[-max(SEASON_DAYS, FIT_DAYS) :])
    y = [
        v / f if f > 0 else v
        for v, f in zip(recent, (factors[w] for w in weekdays[-max(SEASON_DAYS, FIT_DAYS) :]), strict=True)
    ]
    y = y[-FIT_DAYS:]
    y = _despiked(y)
    fit = _log_fit(y)
    if len(series) < 4 * WEEK:
        # A young account: too little to tell a trend from noise (the backtest's accounts without history).
        fit = _Fit(sum(y) / len(y), 0.0, fit.sigma, fit.sigma / math.sqrt(len(y)), 0.0)
    expect_rem = 0.0
    damp_sum, damp = 0.0, 1.0
    var_trend = 0.0
    for h in range(remaining):
        damp *= DAMPING
        damp_sum += damp
        expect_rem += max(fit.level + fit.slope * damp_sum, 0.0) * factors[future_wd[h]]
        var_trend += damp_sum
    mean_f = sum(factors[w] for w in future_wd) / remaining
    sd_noise = tuning.noise * fit.sigma * mean_f * math.sqrt(remaining)
    sd_level = fit.level_se * mean_f * remaining
    sd_trend = fit.slope_se * mean_f * var_trend
    sd_drift = tuning.drift * expect_rem
    sd = math.sqrt(sd_noise**2 + sd_level**2 + sd_trend**2 + sd_drift**2)
    if len(series) < WEEK:
        sd = max(sd, tuning.no_history * expect_rem)
    return _interval(to_date, to_date + expect_rem, sd, remaining)


def _interval(to_date: float, expected: float, sd: float, remaining: int) -> QuantityForecast:
    # Usage never goes down: the period ends at least at what is already used.
    return QuantityForecast(
        to_date, expected, max(expected - Z80 * sd, to_date), max(expected + Z80 * sd, to_date), remaining
    )


def linear_extrapolation(current: Sequence[float], days_in_period: int) -> float:
    """The baseline to beat: the period to date scaled to the whole period."""
    if not current:
        return 0.0
    return float(sum(current)) * days_in_period / len(current)
