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
_Folded = tuple[Any, Any, Any]  # the slot's ``folded`` (or what stands for it): until, area, level


class _Parsed:
    """A slot's kept readings parsed, in time order, and the integral run over them (before the tail
    to the period's end), with the ``folded`` it started from."""

    __slots__ = ("folded", "keys", "run", "samples", "values")

    def __init__(
        self,
        samples: list[_Row],
        values: dict[_Key, Decimal],
        keys: list[_Key],
        folded: _Folded,
        run: tuple[int, Decimal, Decimal] | None,
    ) -> None:
        self.samples, self.values, self.keys, self.folded, self.run = samples, values, keys, folded, run


class KeptReadings:
    """The kept readings of slots already parsed, by the identity of the slot's ``samples`` list.

    Owned by a caller that keeps decoded entries between steps (the live stage): parsing, sorting,
    integrating and formatting a slot's kept readings was most of a storage group's cost, paid again
    every step, and more as the readings filled up. Entries are never changed in place (a step writes
    a new list), and the memo holds the list itself, so the same list object means the same readings."""

    def __init__(self) -> None:
        self._by_id: dict[int, _Parsed] = {}

    def take(self, samples: Any) -> _Parsed | None:
        """The parsed readings of ``samples``, forgotten here: the fold replaces the slot's list (a
        caller still holding the old list parses it again)."""
        hit = self._by_id.pop(id(samples), None)
        return hit if hit is not None and hit.samples is samples else None

    def __len__(self) -> int:
        return len(self._by_id)

    def clear(self) -> None:
        self._by_id.clear()

    def put(self, parsed: _Parsed) -> None:
        if len(self._by_id) >= MAX_REMEMBERED:
            self._by_id.clear()
        self._by_id[id(parsed.samples)] = parsed


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
    ``kept``: the caller's memo of parsed readings. With it, readings newer than every kept one (the
    usual case) only extend the remembered integral — the same additions in the same order, so the
    same digits — instead of parsing, sorting and integrating all kept readings again.
    """
    folded: _Folded = tuple(slot.get("folded") or (start_ms, "0", slot.get("carried_in") or "0"))  # type: ignore[assignment]
    until, area, level = folded
    samples = slot.get("samples", ())
    known = kept.take(samples) if kept is not None else None
    merged = dict(known.values) if known is not None else {(t, i): Decimal(v) for t, i, v in samples}
    changed: set[_Key] = set()
    added: list[_Key] = []
    for s in readings:
        key = (max(s.ts_ms, until), s.event_id)
        old = merged.get(key)
        if old is None:
            added.append(key)
        if old is None or s.value > old:
            merged[key] = s.value
            changed.add(key)
    added.sort()
    if (
        known is not None
        and known.run is not None
        and known.folded == folded
        and len(merged) < FOLD_AT
        and len(changed) == len(added)  # no kept reading replaced
        and (not known.keys or not added or added[0] > known.keys[-1])
    ):
        at, level_d, area_d = known.run
        for k in added:
            t = min(k[0], end_ms)
            area_d += level_d * (t - at)
            at, level_d = t, merged[k]
        rows = [*samples, *([k[0], k[1], fixed_text(merged[k])] for k in added)]
        slot["samples"] = rows
        if kept is not None:
            kept.put(_Parsed(rows, merged, [*known.keys, *added], folded, (at, level_d, area_d)))
        return level_d, (area_d + level_d * (end_ms - at)) / Decimal(end_ms - start_ms)
    keys = sorted(merged)
    area_d, level_d = Decimal(area), Decimal(level)
    if len(keys) >= FOLD_AT:
        for k in keys[:-KEEP]:
            t = min(k[0], end_ms)
            area_d += level_d * (t - until)
            until, level_d = t, merged[k]
        keys = keys[-KEEP:]
        slot["folded"] = [until, fixed_text(area_d), fixed_text(level_d)]
        folded = tuple(slot["folded"])  # type: ignore[assignment]
    old_rows = {(r[0], r[1]): r for r in samples} if known is not None else {}
    new_rows = [
        row if (row := old_rows.get(k)) is not None and k not in changed else [k[0], k[1], fixed_text(merged[k])]
        for k in keys
    ]
    slot["samples"] = new_rows
    span = Decimal(end_ms - start_ms)
    if end_ms <= until:
        if kept is not None:
            kept.put(_Parsed(new_rows, {k: merged[k] for k in keys}, keys, folded, None))
        return (merged[keys[-1]] if keys else level_d), area_d / span
    # The kept readings from ``until`` on: each holds until the next, the last to the period's end.
    at = until
    for k in keys:
        t = min(k[0], end_ms)
        area_d += level_d * (t - at)
        at, level_d = t, merged[k]
    if kept is not None:
        kept.put(_Parsed(new_rows, {k: merged[k] for k in keys}, keys, folded, (at, level_d, area_d)))
    area_d += level_d * (end_ms - at)
    return level_d, area_d / span
