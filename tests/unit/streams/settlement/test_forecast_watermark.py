"""How far a forecast reads settled hours (``settled_watermark``): the settled watermark, never past now, inside
the period; the last midnight before any settlement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from rating.periods import Period
from streams.settlement.forecast import settled_watermark
from streams.settlement.settler import Settler

JUNE = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
NOON = datetime(2026, 6, 16, 12, 30, tzinfo=UTC)


class _Runs:
    """The one read ``settled_watermark`` makes of the settler (a pure test: no warehouse)."""

    def __init__(self, until: datetime | None) -> None:
        self.until = until

    def settled_until(self) -> datetime | None:
        return self.until


def _mark(until: datetime | None, now: datetime = NOON, given: datetime | None = None) -> datetime:
    return settled_watermark(cast(Settler, _Runs(until)), JUNE, now, given)


def test_the_settled_watermark_bounded_by_now_and_the_period() -> None:
    assert _mark(datetime(2026, 6, 16, 11, tzinfo=UTC)) == datetime(2026, 6, 16, 11, tzinfo=UTC)
    assert _mark(datetime(2026, 7, 3, tzinfo=UTC)) == NOON  # a watermark past now (a test's made-up clock)
    assert _mark(datetime(2026, 5, 20, tzinfo=UTC)) == JUNE.start  # settlement behind: nothing of June yet
    assert _mark(None) == datetime(2026, 6, 16, tzinfo=UTC)  # never settled: the last midnight
    # Given (the refresh passes its run's until): the settler is not asked.
    assert _mark(None, given=datetime(2026, 6, 16, 9, tzinfo=UTC)) == datetime(2026, 6, 16, 9, tzinfo=UTC)
    assert _mark(None, now=datetime(2026, 7, 2, tzinfo=UTC), given=datetime(2026, 7, 2, tzinfo=UTC)) == JUNE.end
