from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.errors import RatingError
from rating.periods import next_period, period_by_key, period_containing


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_anchor_mid_month() -> None:
    p = period_containing(date(2026, 1, 15), utc(2026, 11, 24, 10))
    assert (p.start, p.end, p.key) == (utc(2026, 11, 15), utc(2026, 12, 15), "2026-11")
    assert period_containing(date(2026, 1, 15), utc(2026, 11, 14, 23, 59)).start == utc(2026, 10, 15)


def test_anchor_on_31st_falls_on_last_day_and_returns() -> None:
    anchor = date(2026, 1, 31)
    feb = period_containing(anchor, utc(2026, 2, 28, 12))
    assert (feb.start, feb.end) == (utc(2026, 2, 28), utc(2026, 3, 31))
    assert period_containing(anchor, utc(2026, 2, 27)).start == utc(2026, 1, 31)
    assert next_period(anchor, feb) == period_containing(anchor, utc(2026, 4, 1))
    assert period_containing(anchor, utc(2026, 4, 15)).start == utc(2026, 3, 31)
    assert period_containing(anchor, utc(2026, 5, 1)).start == utc(2026, 4, 30)
    assert period_containing(date(2024, 1, 31), utc(2024, 2, 29, 1)).start == utc(2024, 2, 29)  # leap year


def test_year_boundary_and_keys() -> None:
    p = period_containing(date(2026, 3, 20), utc(2027, 1, 5))
    assert (p.start, p.end, p.key) == (utc(2026, 12, 20), utc(2027, 1, 20), "2026-12")
    assert period_by_key(date(2026, 3, 20), "2026-12") == p
    with pytest.raises(RatingError):
        period_by_key(date(2026, 3, 20), "2026-13")


def test_naive_datetime_refused() -> None:
    with pytest.raises(RatingError, match="naive"):
        period_containing(date(2026, 1, 1), datetime(2026, 5, 1))


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(2000, 2, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_periods_tile_time(anchor: date, at: datetime) -> None:
    p = period_containing(anchor, at)
    assert p.start <= at < p.end
    assert p.start.day == min(anchor.day, p.start.day) and 28 <= p.length.days <= 31
    assert period_containing(anchor, p.end).start == p.end  # no gap, no overlap
