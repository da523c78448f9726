"""The live stage's gauge (``storage_gb``) state, bounded: old readings folded into an area.

``GaugeState`` keeps every reading of a period, so its time-weighted average is exact in any order;
kept in a live table entry that is rewritten whenever the account has usage, a month of hourly
readings would make every write of the account tens of KB. The live entry keeps the newest
``KEEP`` readings and folds older ones into ``folded = [until_ms, area, level]``: the integral of the
gauge (GB·ms) from the period start to ``until_ms`` and the level held at ``until_ms``. A reading
arriving later than ``until_ms`` (more than ``KEEP`` readings late) is placed at ``until_ms`` — the
live view is provisional; the invoice comes from settlement, which reads every event (DESIGN §7).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rating.aggregation import GaugeState, Sample

KEEP = 32
FOLD_AT = 2 * KEEP  # fold once this many readings are kept: folding is paid once per KEEP readings


def fold_readings(
    slot: dict[str, Any], readings: Iterable[Sample], start_ms: int, end_ms: int
) -> tuple[Decimal, Decimal]:
    """Add ``readings`` to the slot; returns (the level held now, the period's time-weighted average)."""
    until, area, level = slot.get("folded") or (start_ms, "0", slot.get("carried_in") or "0")
    area_d, level_d = Decimal(area), Decimal(level)
    new = (Sample(max(s.ts_ms, until), s.event_id, s.value) for s in readings)
    gauge = GaugeState(level_d, tuple(Sample(t, i, Decimal(v)) for t, i, v in slot.get("samples", []))).add(new)
    samples = gauge.samples
    if len(samples) >= FOLD_AT:
        old, samples = samples[:-KEEP], samples[-KEEP:]
        for s in old:
            t = min(s.ts_ms, end_ms)
            area_d += level_d * (t - until)
            until, level_d = t, s.value
        slot["folded"] = [until, f"{area_d:f}", f"{level_d:f}"]
        gauge = GaugeState(level_d, samples)
    slot["samples"] = [[s.ts_ms, s.event_id, f"{s.value:f}"] for s in samples]
    if end_ms <= until:
        return gauge.last_value(), area_d / Decimal(end_ms - start_ms)
    rest = gauge.time_weighted_average(until, end_ms)  # the last reading held to the period's end
    twa = (area_d + rest * (end_ms - until)) / Decimal(end_ms - start_ms) if until > start_ms else rest
    return gauge.last_value(), twa
