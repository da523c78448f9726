"""The day in progress: a whole-day forecast brought to the settled watermark and the live figures after it.

The method (``rating.forecast.method``) forecasts whole days. During a day, settlement has settled its hours
up to the watermark (an hour boundary) and the live stage has counted (provisionally) the events since. The
period's forecast at that instant is: what is settled (the whole days and today's settled hours), the live
count of the hours after the watermark, the model's expectation of the rest of today (today's expected day
times the share of a day's usage that comes after those hours, from the account's hour-of-day profile), and
the whole-day forecast of the days after today. Fourth round of docs/forecasting.md. Pure: the quantities,
the profile and the hours are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from rating.forecast.method import Z80, QuantityForecast

HOURS = 24
#: The usage a profile needs before its shape is trusted (below it, the day's hours count alike).
MIN_PROFILE_USAGE = 48.0


def day_profile(hour_totals: Sequence[float]) -> list[float]:
    """The share of a day's usage before each hour (25 values: 0 at midnight, 1 at the day's end) from the
    usage of each hour of the day (0-23) over the history; even hours when the history holds too little."""
    if len(hour_totals) != HOURS:
        raise ValueError(f"{len(hour_totals)} hours in a day")
    total = float(sum(hour_totals))
    weights = [float(v) for v in hour_totals] if total >= MIN_PROFILE_USAGE else [1.0] * HOURS
    whole = sum(weights)
    out, run = [0.0], 0.0
    for w in weights:
        run += w
        out.append(run / whole)
    out[-1] = 1.0
    return out


def share_before(profile: Sequence[float], hours: float) -> float:
    """The share of a day's usage before ``hours`` past midnight (fractions of an hour pro rata)."""
    h = min(max(hours, 0.0), float(HOURS))
    i = min(int(h), HOURS - 1)
    return profile[i] + (profile[i + 1] - profile[i]) * (h - i)


def with_today(
    whole: QuantityForecast,
    today: QuantityForecast,
    settled_today: float,
    live: float,
    known_share: float,
) -> QuantityForecast:
    """The period's forecast in the day in progress.

    ``whole``: the whole-day forecast (today is its first remaining day). ``today``: the forecast of today
    alone (``expected - to_date`` is today's expected usage). ``settled_today``: today's settled usage (the
    hours before the watermark). ``live``: the live stage's count of the hours after the watermark.
    ``known_share``: the share of a day's usage before the end of what is known (the live count's end, or
    the watermark without one). The live count is taken as it
    is (weight 1): it counts the same accepted, deduplicated events settlement will, only not yet checked
    (docs/forecasting.md). The interval's sd is the whole-day forecast's times the share of its remaining
    usage that is still unknown (chosen over the square root of that share and over no scaling on the tuning
    seeds of ``meterline forecast backtest --hour 12``: docs/forecasting.md, fourth round)."""
    if whole.remaining_days == 0:
        return whole
    day = max(today.expected - today.to_date, 0.0)
    remaining = whole.expected - whole.to_date
    after_today = max(remaining - day, 0.0)
    rest_of_today = day * (1.0 - known_share)
    to_date = whole.to_date + settled_today
    known = to_date + live
    expected = known + rest_of_today + after_today
    unknown = (rest_of_today + after_today) / remaining if remaining > 0 else 0.0
    sd = (whole.p90 - whole.expected) / Z80 * unknown
    return QuantityForecast(
        to_date, expected, max(expected - Z80 * sd, known), max(expected + Z80 * sd, known), whole.remaining_days
    )
