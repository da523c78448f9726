"""Commitments and prepaid credits on a period's invoice (docs/rating.md, "Commitments and credits").

- A **commitment** (``ContractOverrides.commitment``) is the least an account pays per usage period, or
  per contract year: when what the invoice charges (every line but tax, credits and the true-up itself; per
  period, corrections of earlier periods left out too: rating.invoice)
  falls short, a ``commitment_true_up`` line bills the difference — per period on every invoice, per
  contract year on the invoice of the year's last period (counting what the year's earlier invoices charged).
- **Credit grants** pay the invoice's charges before they are due: grants in effect in the period, by
  priority (lower first), then the soonest expiry, each drawn up to what remains of it, as a
  ``credit:<grant id>`` line with a negative amount; the invoice never goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from rating.catalog.model import Commitment
from rating.money import ZERO, line_amount
from rating.periods import Period, contract_year_containing

CREDIT_PREFIX = "credit:"
#: A grant is low once what remains of it falls below this share of its amount (one alert, when it crosses).
LOW_BALANCE_SHARE = Decimal("0.2")
TRUE_UP = "commitment_true_up"
_NOT_CHARGES = ("tax:", CREDIT_PREFIX, TRUE_UP)


@dataclass(frozen=True, slots=True)
class CreditGrant:
    """A prepaid credit as an invoice sees it: ``remaining`` is what earlier invoices left of ``amount``."""

    grant_id: str
    name: str
    amount: Decimal
    remaining: Decimal
    effective_at: datetime
    expires_at: datetime | None = None
    priority: int = 0

    def in_effect(self, period: Period) -> bool:
        """Usable by the invoice of ``period``: in effect at some instant of it."""
        return self.effective_at < period.end and (self.expires_at is None or self.expires_at > period.start)


def is_charge(code: str) -> bool:
    """What a commitment counts and credits pay: every line but tax, credits and the true-up."""
    return not code.startswith(_NOT_CHARGES)


def true_up(
    commitment: Commitment, charged: Decimal, period: Period, anchor: date, charged_earlier_in_year: Decimal = ZERO
) -> Decimal:
    """The shortfall a ``commitment_true_up`` line bills on the invoice of ``period`` (0: none).
    ``charged_earlier_in_year``: the charges of the contract year's earlier invoices (per-year only)."""
    if commitment.per == "period":
        return max(ZERO, commitment.amount - charged)
    if contract_year_containing(anchor, period.start).end != period.end:
        return ZERO  # the year's commitment is trued up on its last invoice
    return max(ZERO, commitment.amount - charged_earlier_in_year - charged)


def draw(grants: Iterable[CreditGrant], due: Decimal, period: Period) -> list[tuple[CreditGrant, Decimal]]:
    """What each grant pays of ``due`` (whole cents), in drawing order; grants paying nothing left out."""
    order = sorted(
        (g for g in grants if g.in_effect(period) and g.remaining > 0),
        key=lambda g: (g.priority, g.expires_at is None, g.expires_at or g.effective_at, g.effective_at, g.grant_id),
    )
    out = []
    left = line_amount(max(due, ZERO))
    for g in order:
        if left <= 0:
            break
        used = min(left, line_amount(g.remaining))
        if used > 0:
            out.append((g, used))
            left -= used
    return out


def crossed_low(grant: CreditGrant, used: Decimal) -> Decimal | None:
    """What remains of ``grant`` after an invoice drew ``used`` of it, if that draw took it below the low
    balance (``LOW_BALANCE_SHARE`` of its amount) from at or above it; else None."""
    threshold = grant.amount * LOW_BALANCE_SHARE
    after = grant.remaining - used
    return after if grant.remaining >= threshold > after else None
