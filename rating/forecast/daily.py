"""Settled hourly rows folded into the daily series the forecast method reads (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from rating.settle import HourlyUsage
from schemas.events import Metric

PREMIUM_PREFIX = "premium_feature:"


def series_key(row: HourlyUsage) -> str | None:
    """The forecast's name for a row's metric: summed metrics only (storage and seats are not summed)."""
    if row.metric == Metric.PREMIUM_FEATURE:
        return f"{PREMIUM_PREFIX}{row.dimension}"
    if row.metric in (Metric.API_CALLS, Metric.AI_REQUESTS):
        return str(row.metric)
    return None


def daily_series(rows: Iterable[HourlyUsage], start: datetime, days: int) -> dict[str, list[float]]:
    """Per metric, the quantity of each of ``days`` days from ``start`` (a midnight UTC)."""
    out: dict[str, list[float]] = {}
    for r in rows:
        key = series_key(r)
        index = (r.hour - start) // timedelta(days=1)
        if key is None or not 0 <= index < days:
            continue
        out.setdefault(key, [0.0] * days)[index] += float(r.quantity)
    return out
