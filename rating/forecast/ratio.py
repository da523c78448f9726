"""A premium feature's forecast from the account's API calls: its uses per call times the calls' forecast.

A premium feature is used a few times a day (often zero at weekends); its own small counts give a poor
level. Its uses per API call, taken over the whole window, are steadier, and the calls' forecast (a large,
well-estimated series) already carries the weekly rhythm, the trend and a stop. Third round of
docs/forecasting.md. Pure: the daily quantities are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rating.forecast.daily import PREMIUM_PREFIX
from rating.forecast.method import (
    DEFAULT_TUNING,
    FIT_DAYS,
    STOPPED_DAYS,
    Z80,
    QuantityForecast,
    Tuning,
    forecast_quantity,
)

DRIVER = "api_calls"  # the series a premium feature's uses follow


def uses_per_driver(own: Sequence[float], driver: Sequence[float]) -> tuple[float, float]:
    """The ratio of the sums over the window and the uses' dispersion around ratio * driver.

    The dispersion is the quasi-Poisson one: the squared deviations of the days over their expected
    uses (1 for Poisson counts; less when the uses follow the calls closely). ``(0.0, 0.0)`` when the
    window holds no uses or no driver usage."""
    total_driver = float(sum(driver))
    uses = float(sum(own))
    if total_driver <= 0 or uses <= 0:
        return 0.0, 0.0
    ratio = uses / total_driver
    n = len(own)
    squares = sum((o - ratio * d) ** 2 for o, d in zip(own, driver, strict=True))
    return ratio, squares / uses * (n / (n - 1) if n > 1 else 1.0)


def forecast_by_ratio(
    history: Sequence[float],
    current: Sequence[float],
    driver_history: Sequence[float],
    driver_current: Sequence[float],
    driver: QuantityForecast,
) -> QuantityForecast | None:
    """The period-end total of a metric that follows ``driver`` (aligned days: same lengths as its own).

    ``None`` when the window holds no use of it or no driver usage: nothing to take a ratio of."""
    if len(history) != len(driver_history) or len(current) != len(driver_current):
        raise ValueError("a metric and its driver must cover the same days")
    to_date = float(sum(current))
    own = [*history, *current][-FIT_DAYS:]
    drv = [*driver_history, *driver_current][-FIT_DAYS:]
    ratio, dispersion = uses_per_driver(own, drv)
    if ratio <= 0 or driver.remaining_days == 0:
        return None
    if dropped(own):
        return QuantityForecast(to_date, to_date, to_date, to_date, driver.remaining_days)
    driver_rem = driver.expected - driver.to_date
    expect_rem = ratio * driver_rem
    driver_sd = (driver.p90 - driver.expected) / Z80  # p10 may be cut at the usage so far; p90 never is
    # The driver's uncertainty (its unexplained change included), the uses' noise around ratio * driver
    # and the ratio's own (its sum's variance dispersion * uses, relative).
    uses = float(sum(own))
    sd = math.sqrt((ratio * driver_sd) ** 2 + dispersion * expect_rem + dispersion / uses * expect_rem**2)
    expected = to_date + expect_rem
    return QuantityForecast(
        to_date, expected, max(expected - Z80 * sd, to_date), max(expected + Z80 * sd, to_date), driver.remaining_days
    )


def forecast_metrics(
    history: Mapping[str, Sequence[float]],
    current: Mapping[str, Sequence[float]],
    days_in_period: int,
    first_weekday: int,
    *,
    typical_daily: Mapping[str, float] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> dict[str, QuantityForecast]:
    """Every summed metric of an account: each on its own, premium features from the API calls' forecast.

    ``history[m]`` and ``current[m]`` are a metric's days before the period and of the period so far,
    ending on the same day; a missing metric or a shorter list had no usage on the days it lacks (zero
    days are put in front, so ``daily_series``' output can be passed as it is)."""
    typical = typical_daily or {}
    metrics = sorted({*history, *current}, key=lambda m: (m != DRIVER, m))  # the driver first
    hist_days = max((len(v) for v in history.values()), default=0)
    cur_days = max((len(v) for v in current.values()), default=0)
    hist = {m: _padded(history.get(m, ()), hist_days) for m in metrics}
    cur = {m: _padded(current.get(m, ()), cur_days) for m in metrics}
    out: dict[str, QuantityForecast] = {}
    for m in metrics:
        if m.startswith(PREMIUM_PREFIX) and DRIVER in out:
            by_ratio = forecast_by_ratio(hist[m], cur[m], hist[DRIVER], cur[DRIVER], out[DRIVER])
            if by_ratio is not None:
                out[m] = by_ratio
                continue
        out[m] = forecast_quantity(
            hist[m], cur[m], days_in_period, first_weekday, typical_daily=typical.get(m, 0.0), tuning=tuning
        )
    return out


def dropped(own: Sequence[float]) -> bool:
    """The feature is no longer used: its last zero run is longer than any before (a sparse series has
    short ones, weekends) and at least STOPPED_DAYS long."""
    runs: list[int] = []  # the length of the zero run each day ends
    run = 0
    for v in own:
        run = run + 1 if v == 0 else 0
        runs.append(run)
    tail = runs[-1] if runs else 0
    before = max(runs[: len(runs) - tail], default=0)
    return tail >= STOPPED_DAYS and tail > before


def _padded(values: Sequence[float], days: int) -> list[float]:
    return [0.0] * (days - len(values)) + [float(v) for v in values]
