"""The live stage's gauge (``storage_gb``) state, bounded: old readings folded into an area.

``GaugeState`` keeps every reading of a period, so its time-weighted average is exact in any order;
kept in a live table entry that is rewritten whenever the account has usage, a month of hourly
readings would make every write of the account tens of KB. The live entry keeps the newest
``KEEP`` readings and folds older ones into ``folded = [until_ms, area, level]``: the integral of the
gauge (GB·ms) from the period start to ``until_ms`` and the level held at ``until_ms``. A reading
arriving later than ``until_ms`` (more than ``KEEP`` readings late) is placed at ``until_ms`` — the
live view is provisional; the invoice comes from settlement, which reads every event (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rating.aggregation import Sample
from rating.money import fixed_text

#: Readings kept unfolded: a reading up to this many readings late still lands in its place. Every
#: step of the account re-reads and re-writes them, so the number is the stage's cost per storage group.
KEEP = 8
FOLD_AT = 2 * KEEP  # fold once this many readings are kept: folding is paid once per KEEP readings


#: Slots' parsed readings remembered before a ``KeptReadings`` starts over (bounded memory, ~2 KB a slot).
MAX_REMEMBERED = 20_000

_Key = tuple[int, str]
_Row = list[Any]  # [ts_ms, event id, value text], as the slot keeps it


class KeptReadings:
    """The kept readings of slots already parsed, by the identity of the slot's ``samples`` list.

    Owned by a caller that keeps decoded entries between steps (the live stage): parsing and
    formatting a slot's kept readings was most of a storage group's cost, paid again every step.
    Entries are never changed in place (a step writes a new list), and the memo holds the list
    itself, so the same list object means the same readings."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[list[_Row], dict[_Key, Decimal], dict[_Key, _Row]]] = {}

    def take(self, samples: Any) -> tuple[dict[_Key, Decimal], dict[_Key, _Row]] | None:
        """The parsed readings of ``samples``, forgotten here: the fold replaces the slot's list (a
        caller still holding the old list parses it again)."""
        hit = self._by_id.pop(id(samples), None)
        return (hit[1], hit[2]) if hit is not None and hit[0] is samples else None

    def __len__(self) -> int:
        return len(self._by_id)

    def clear(self) -> None:
        self._by_id.clear()

    def put(self, samples: list[_Row], values: dict[_Key, Decimal], rows: dict[_Key, _Row]) -> None:
        if len(self._by_id) >= MAX_REMEMBERED:
            self._by_id.clear()
        self._by_id[id(samples)] = (samples, values, rows)


def fold_readings(
    slot: dict[str, Any],
    readings: Iterable[Sample],
    start_ms: int,
    end_ms: int,
    kept: KeptReadings | None = None,
) -> tuple[Decimal, Decimal]:
    """Add ``readings`` to the slot; returns (the level held now, the period's time-weighted average).

    The same result as ``GaugeState`` over the kept readings (one reading per event id, a conflicting
    replay keeps the larger value), without building it: this runs for every storage group of a step.
    ``kept``: the caller's memo of parsed readings (the same results, without parsing them again).
    """
    until, area, level = slot.get("folded") or (start_ms, "0", slot.get("carried_in") or "0")
    samples = slot.get("samples", ())
    known = kept.take(samples) if kept is not None else None
    rows: dict[_Key, _Row]
    if known is None:
        merged: dict[_Key, Decimal] = {(t, i): Decimal(v) for t, i, v in samples}
        rows = {}
    else:
        merged, rows = dict(known[0]), known[1]
    changed: set[_Key] = set()
    for s in readings:
        key = (max(s.ts_ms, until), s.event_id)
        old = merged.get(key)
        if old is None or s.value > old:
            merged[key] = s.value
            changed.add(key)
    keys = sorted(merged)
    area_d, level_d = Decimal(area), Decimal(level)
    if len(keys) >= FOLD_AT:
        for k in keys[:-KEEP]:
            t = min(k[0], end_ms)
            area_d += level_d * (t - until)
            until, level_d = t, merged[k]
        keys = keys[-KEEP:]
        slot["folded"] = [until, fixed_text(area_d), fixed_text(level_d)]
    new_rows = [
        row if (row := rows.get(k)) is not None and k not in changed else [k[0], k[1], fixed_text(merged[k])]
        for k in keys
    ]
    slot["samples"] = new_rows
    if kept is not None:
        kept.put(new_rows, {k: merged[k] for k in keys}, dict(zip(keys, new_rows, strict=True)))
    span = Decimal(end_ms - start_ms)
    if end_ms <= until:
        return (merged[keys[-1]] if keys else level_d), area_d / span
    # The kept readings from ``until`` on: each holds until the next, the last to the period's end.
    at = until
    for k in keys:
        t = min(k[0], end_ms)
        area_d += level_d * (t - at)
        at, level_d = t, merged[k]
    area_d += level_d * (end_ms - at)
    return level_d, area_d / span
