"""The mergeable gauge state: live batches fold into it in any split and any order.

The time-weighted average orders samples by event time (ties by event id), so it gives the same
answer whatever order samples arrive in. All times are epoch milliseconds (integers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from rating.errors import RatingError
from rating.money import ZERO


@dataclass(frozen=True, slots=True)
class Sample:
    ts_ms: int
    event_id: str
    value: Decimal
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class GaugeState:
    """Samples of a gauge (GB held) inside one period, plus the value carried in from before it.

    The time-weighted average over [start, end): each sample holds until the next one; the carried-in
    value holds from the period start until the first sample. Samples are kept (one per reading, a
    few per hour at most), so the average is exact in any order of arrival.
    """

    carried_in: Decimal = ZERO
    samples: tuple[Sample, ...] = field(default=())

    def add(self, samples: Iterable[Sample]) -> GaugeState:
        merged: dict[tuple[int, str], Sample] = {}
        for s in (*self.samples, *samples):
            key = (s.ts_ms, s.event_id)
            # One reading per event id; a conflicting replay keeps the larger value (order-independent).
            if key not in merged or s.value > merged[key].value:
                merged[key] = s
        return GaugeState(self.carried_in, tuple(merged[k] for k in sorted(merged)))

    def merge(self, other: GaugeState) -> GaugeState:
        # The carried-in value is set by whoever opened the period (the others hold the default 0);
        # taking the larger keeps merge commutative and associative whichever side carries it.
        return GaugeState(max(self.carried_in, other.carried_in), self.samples).add(other.samples)

    def time_weighted_average(self, start_ms: int, end_ms: int, until_ms: int | None = None) -> Decimal:
        """Average over the whole period [start, end); with ``until_ms``, only the part up to it."""
        if end_ms <= start_ms:
            raise RatingError("empty period")
        stop = end_ms if until_ms is None else max(start_ms, min(until_ms, end_ms))
        if stop == start_ms:
            return self.carried_in
        area = ZERO
        level, at = self.carried_in, start_ms
        for s in self.samples:
            t = min(max(s.ts_ms, start_ms), stop)
            area += level * (t - at)
            level, at = s.value, t
        area += level * (stop - at)
        return area / Decimal(stop - start_ms)

    def last_value(self) -> Decimal:
        return self.samples[-1].value if self.samples else self.carried_in
