"""The enterprise contract's extras of an independently computed invoice (deploy/demo/independent_invoices.py):
provisioned seats, add-ons, the commitment true-up and prepaid credits, read from docs/rating.md ("Contracts",
"Add-ons", "Commitments and credits") apart from ``rating/``, on plain records:

- Provisioned seats: the most members at one instant of the stretches under a seat-priced tier, counted at
  each instant a member joins (and each stretch's start); a stretch runs from ``joined`` until before ``left``.
- Add-ons: a one-time one bills its quantity in the period holding its date; a recurring one its monthly
  price times the share of the period it was active (microseconds); an hourly one the hours logged in the
  period. At the contract's price (the version at the period end), else the catalog's.
- Commitment (per period): when the charges (every line so far) fall short of it, a true-up of the difference.
- Credits: grants in effect at some instant of the period, by priority, then the soonest expiry (none last),
  then the earliest start and the id, each paying what is left of the invoice up to what remains of it (whole
  cents), as a negative line; the invoice never goes below zero.

Each function returns ``(code, quantity, unit_price, amount)`` with the amount before rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

ZERO = Decimal(0)
US = timedelta(microseconds=1)
Raw = tuple[str, Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Member:
    org: str
    user: str
    joined: datetime
    left: datetime | None = None


@dataclass(frozen=True, slots=True)
class AddonRecord:
    account: str
    name: str
    start: datetime  # a one-time add-on's date; a recurring one's start (hourly: unused)
    end: datetime | None = None  # recurring: when it stopped
    quantity: Decimal = Decimal(1)
    hours: tuple[tuple[datetime, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class Grant:
    account: str
    grant_id: str
    amount: Decimal
    effective_at: datetime
    expires_at: datetime | None = None
    priority: int = 0


def peak_members(members: Iterable[Member], stretches: Iterable[tuple[datetime, datetime]]) -> int:
    """The most distinct members at one instant of the stretches."""
    ms = list(members)
    best = 0
    for lo, hi in stretches:
        instants = {lo} | {m.joined for m in ms if lo < m.joined < hi}
        for t in instants:
            users = {m.user for m in ms if m.joined <= t and (m.left is None or t < m.left)}
            best = max(best, len(users))
    return best


def addon_lines(
    records: Iterable[AddonRecord],
    start: datetime,
    end: datetime,
    catalog_addons: Mapping[str, Any],
    contract_prices: Mapping[str, Any],
) -> list[Raw]:
    qty: dict[str, Decimal] = {}
    for r in records:
        kind = catalog_addons[r.name].get("kind", "one_time")
        if kind == "one_time":
            q = r.quantity if start <= r.start < end else ZERO
        elif kind == "recurring":
            lo, hi = max(r.start, start), min(r.end or end, end)
            q = Decimal((hi - lo) // US) / Decimal((end - start) // US) if hi > lo else ZERO
        else:
            q = sum((h for at, h in r.hours if start <= at < end), ZERO)
        if q:
            qty[r.name] = qty.get(r.name, ZERO) + q
    out = []
    for name in sorted(qty):
        price = Decimal(str(contract_prices.get(name, catalog_addons[name]["unit_amount"])))
        out.append((f"addon:{name}", qty[name], price, qty[name] * price))
    return out


def true_up_line(commitment: Mapping[str, Any] | None, charged: Decimal) -> list[Raw]:
    if not commitment:
        return []
    if commitment.get("per", "period") != "period":
        raise ValueError("the independent expectation covers commitments per period only")
    short = Decimal(str(commitment["amount"])) - charged
    return [("commitment_true_up", Decimal(1), short, short)] if short > 0 else []


def credit_lines(
    grants: Iterable[Grant], drawn: dict[tuple[str, datetime], Decimal], due: Decimal, start: datetime, end: datetime
) -> list[Raw]:
    """Draws ``due`` (a sum of rounded lines) from the grants. ``drawn`` holds each grant's draw per period start:
    what earlier periods drew is not available any more, and this period's draws are recorded (computed again,
    they replace the earlier figures)."""

    def order(g: Grant) -> tuple[Any, ...]:
        return (g.priority, g.expires_at is None, g.expires_at or g.effective_at, g.effective_at, g.grant_id)

    left = max(due, ZERO).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    out: list[Raw] = []
    for g in sorted(grants, key=order):
        if not (g.effective_at < end and (g.expires_at is None or g.expires_at > start)):
            continue
        before = sum((v for (gid, at), v in drawn.items() if gid == g.grant_id and at < start), ZERO)
        remaining = (g.amount - before).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        used = max(ZERO, min(left, remaining))
        drawn[(g.grant_id, start)] = used
        if used > 0:
            out.append((f"credit:{g.grant_id}", Decimal(1), -used, -used))
            left -= used
    return out
