"""A total's forecast split among its parts by their recent shares, so the parts sum to the total.

Used for the AI mix (issue #18): each provider/model's AI requests are the account's AI requests forecast
(the method's, a large well-estimated series) times that model's share of the account's recent requests;
forecast on its own, each small model series would carry its own level and trend and the models would not
add up to the account's total. Pure: the daily quantities are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rating.forecast.method import FIT_DAYS, HALF_LIFE, QuantityForecast
from rating.forecast.ratio import dropped


def recent_shares(series: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Each part's share of the total over the last FIT_DAYS days (aligned series ending on the same day),
    a day's weight halving every HALF_LIFE days back like the method's fit. A part no longer used (its last
    zero run is its longest, at least three days: ``ratio.dropped``) gets none. Sums to 1 unless no part
    has usage left (then all 0)."""
    days = max((len(v) for v in series.values()), default=0)
    weights = [0.5 ** ((days - 1 - i) / HALF_LIFE) for i in range(days)]
    sums: dict[str, float] = {}
    for part, values in series.items():
        padded = [0.0] * (days - len(values)) + [float(v) for v in values]
        window = padded[-FIT_DAYS:]
        if dropped(window):
            sums[part] = 0.0
            continue
        sums[part] = sum(w * v for w, v in zip(weights[-FIT_DAYS:], window, strict=True))
    total = sum(sums.values())
    return {part: (s / total if total > 0 else 0.0) for part, s in sums.items()}


def split_forecast(
    total: QuantityForecast, to_date: Mapping[str, float], shares: Mapping[str, float]
) -> dict[str, QuantityForecast]:
    """Each part: its own usage so far plus its share of the total's remaining quantity (expected, p10 and
    p90 alike). ``to_date`` are the parts' usage of the period so far (summing to the total's). The parts'
    expected values sum to the total's; so do their bounds (the share's own uncertainty is not added: the
    split says where the total's requests go, the total carries how many there will be)."""
    out = {}
    for part in sorted(set(to_date) | set(shares)):
        share, done = shares.get(part, 0.0), to_date.get(part, 0.0)
        out[part] = QuantityForecast(
            done,
            done + share * (total.expected - total.to_date),
            done + share * max(total.p10 - total.to_date, 0.0),
            done + share * (total.p90 - total.to_date),
            total.remaining_days,
        )
    return out
