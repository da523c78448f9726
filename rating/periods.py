"""Monthly usage periods anchored to a subscription's anchor day, for monthly and annual plans alike.

An anchor on the 29th-31st falls on the last day of shorter months and returns to the anchor day in
longer ones. Periods are half-open ``[start, end)`` in aware UTC, starting at midnight UTC.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from rating.errors import RatingError

HOUR_MS = 3_600_000
_US = timedelta(microseconds=1)


def require_aware(at: datetime, what: str = "datetime") -> datetime:
    """Aware UTC or a RatingError: the domain never guesses a zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise RatingError(f"{what} {at!r} is naive: pass an aware UTC datetime")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """``YYYY-MM`` of the period's start: how analysts and the CLI name a period."""
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def _anchored(year: int, month: int, anchor_day: int) -> datetime:
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return datetime.combine(date(year, month, day), time(0), tzinfo=UTC)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def period_containing(anchor: date, at: datetime) -> Period:
    """The monthly usage period, anchored on ``anchor.day``, that contains ``at``."""
    at = require_aware(at, "at")
    # Periods start at midnight UTC, so the day decides: cached, as the live stage asks per event.
    return _period_for_day(anchor.day, at.date())


@functools.lru_cache(maxsize=65_536)
def _period_for_day(anchor_day: int, day: date) -> Period:
    start = _anchored(day.year, day.month, anchor_day)
    y, m = day.year, day.month
    if day < start.date():
        y, m = _shift(y, m, -1)
        start = _anchored(y, m, anchor_day)
    ny, nm = _shift(y, m, 1)
    return Period(start, _anchored(ny, nm, anchor_day))


def next_period(anchor: date, period: Period) -> Period:
    return period_containing(anchor, period.end)


def period_by_key(anchor: date, key: str) -> Period:
    """The period whose start falls in month ``YYYY-MM``."""
    try:
        year, month = (int(x) for x in key.split("-"))
        start = _anchored(year, month, anchor.day)
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise RatingError(f"invalid period {key!r}: expected YYYY-MM") from exc
    return period_containing(anchor, start)


def contract_year_containing(anchor: date, at: datetime) -> Period:
    """The contract year ``[anniversary, next anniversary)`` of ``anchor`` that contains ``at``.

    Annual fees are charged once per contract year; an anchor on Feb 29 falls on Feb 28 in other years.
    """
    at = require_aware(at, "at")
    start = _anchored(at.year, anchor.month, anchor.day)
    if at < start:
        start = _anchored(at.year - 1, anchor.month, anchor.day)
    return Period(start, _anchored(start.year + 1, anchor.month, anchor.day))


def fraction_left(span: Period, at: datetime) -> Decimal:
    """Exact fraction of ``span`` left at ``at`` (integer microseconds, no float), clamped to [0, 1]."""
    at = min(max(require_aware(at, "at"), span.start), span.end)
    return Decimal((span.end - at) // _US) / Decimal((span.end - span.start) // _US)


def fraction_covered(span: Period, start: datetime, end: datetime) -> Decimal:
    """Exact fraction of ``span`` that ``[start, end)`` covers (integer microseconds, one division), in [0, 1]."""
    lo = max(require_aware(start, "start"), span.start)
    hi = min(require_aware(end, "end"), span.end)
    if hi <= lo:
        return Decimal(0)
    return Decimal((hi - lo) // _US) / Decimal((span.end - span.start) // _US)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, on the same day of the month or the last one of a shorter month (the
    anchor rule of the periods)."""
    y, m = _shift(day.year, day.month, months)
    return _anchored(y, m, day.day).date()
