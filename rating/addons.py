"""Add-ons recorded on a contract and what a usage period bills of them (docs/rating.md, "Add-ons").

Three kinds, named by the catalog (``Addon.kind``):
- ``one_time``: billed once, in the period containing its date, ``quantity`` units (setups, sessions);
- ``recurring``: a monthly price billed every period while active, prorated on start and end by the
  exact fraction of the period it covers (``periods.fraction_covered``);
- ``hourly``: the hours logged with a date in the period.
Prices come from the invoice (``rating.invoice``): the contract's, else the catalog's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from rating.money import ZERO
from rating.periods import Period, fraction_covered

AddonKind = Literal["one_time", "recurring", "hourly"]


@dataclass(frozen=True, slots=True)
class AddonUse:
    """One recorded add-on: ``start`` is the date of a one-time one and the start of a recurring one."""

    name: str
    kind: AddonKind
    start: datetime
    end: datetime | None = None  # recurring: when it stops (None: still active)
    quantity: Decimal = Decimal(1)  # one_time: units
    hours: tuple[tuple[datetime, Decimal], ...] = ()  # hourly: (worked on, hours)


def period_quantity(use: AddonUse, period: Period) -> Decimal:
    """What ``period`` bills of one add-on, in its unit."""
    if use.kind == "one_time":
        return use.quantity if period.start <= use.start < period.end else ZERO
    if use.kind == "recurring":
        return fraction_covered(period, use.start, use.end or period.end)
    return sum((h for at, h in use.hours if period.start <= at < period.end), ZERO)


def period_quantities(uses: Iterable[AddonUse], period: Period) -> dict[str, Decimal]:
    """Per add-on name, what ``period`` bills (names with nothing billed left out)."""
    out: dict[str, Decimal] = {}
    for use in uses:
        q = period_quantity(use, period)
        if q:
            out[use.name] = out.get(use.name, ZERO) + q
    return out
