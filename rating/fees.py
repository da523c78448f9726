"""Recurring fees on a usage period's invoice: base fee, annual fees and upgrade proration.

Rules (docs/rating.md):
- Fees are charged in advance for the version in effect at the period start. A monthly fee is
  charged every period; an annual fee (standard yearly base fee, enterprise platform fee) once per
  contract year, in the period that starts on the contract year's anniversary of the anchor.
- A change of version inside the period (or a subscription starting inside it) is settled at once:
  credit = each old fee x the fraction of its span left, charge = each new fee x the fraction of its
  span left, where the span of a monthly fee is the usage period and that of an annual fee is the
  contract year containing the change. When charge > credit (an upgrade) both appear on the invoice
  (``base_fee_proration`` per base fee, ``platform_fee`` for a pro-rata platform fee); otherwise (a
  downgrade, a cancellation) nothing is credited: those take effect at the period end.
- A canceled or trialing version carries no fee: a trial that converts inside a period pays the
  time left, as a subscription starting then would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from rating.catalog.model import Tier
from rating.money import ZERO, fraction_text
from rating.periods import Period, contract_year_containing, fraction_left
from rating.subscriptions import NO_SUBSCRIPTION, SubscriptionVersion

FEE_CODES = ("base_fee", "platform_fee")


@dataclass(frozen=True, slots=True)
class Fee:
    code: str  # base_fee | platform_fee
    amount: Decimal
    annual: bool


@dataclass(frozen=True, slots=True)
class FeeLine:
    """An invoice line before rounding (the invoice rounds once)."""

    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def recurring_fees(version: SubscriptionVersion, tier: Tier) -> list[Fee]:
    """The fees a version carries: for its interval, else an annual one (an enterprise platform fee)."""
    if version.status in ("canceled", "trialing"):
        return []
    out = []
    for code in FEE_CODES:
        fees: Mapping[str, Decimal] = getattr(tier, code)
        if version.interval in fees:
            amount, annual = Decimal(fees[version.interval]), version.interval == "year"
        elif "year" in fees:
            amount, annual = Decimal(fees["year"]), True
        else:
            continue
        if amount:
            out.append(Fee(code, amount, annual))
    return out


def _span(version: SubscriptionVersion, fee: Fee, period: Period, at: datetime) -> Period:
    return contract_year_containing(version.anchor, at) if fee.annual else period


def advance_fee_lines(version: SubscriptionVersion, tier: Tier, period: Period) -> list[FeeLine]:
    """Fees charged in advance at the period start for the version then in effect."""
    lines = []
    for fee in recurring_fees(version, tier):
        if fee.annual and contract_year_containing(version.anchor, period.start).start != period.start:
            continue  # annual fees are charged once per contract year, at its start
        label = "annual" if fee.annual else "monthly"
        desc = f"{tier.display_name} {fee.code.replace('_', ' ')} ({label})"
        lines.append(FeeLine(fee.code, desc, Decimal(1), fee.amount, fee.amount))
    return lines


def change_fee_lines(
    old: tuple[SubscriptionVersion, Tier] | None,
    new: tuple[SubscriptionVersion, Tier],
    period: Period,
    at: datetime,
) -> list[FeeLine]:
    """Proration at a version change at ``at`` (``old`` None: the subscription starts at ``at``)."""
    credit: dict[str, tuple[Decimal, Decimal, Decimal]] = {}  # code -> (fraction, fee, amount)
    charge: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    if old is not None:
        for fee in recurring_fees(*old):
            frac = fraction_left(_span(old[0], fee, period, at), at)
            credit[fee.code] = (frac, fee.amount, fee.amount * frac)
    for fee in recurring_fees(*new):
        frac = fraction_left(_span(new[0], fee, period, at), at)
        charge[fee.code] = (frac, fee.amount, fee.amount * frac)
    if sum(c[2] for c in charge.values()) <= sum(c[2] for c in credit.values()):
        return []  # a downgrade or cancellation: effective at the period end, nothing credited
    name = new[1].display_name
    lines = []
    for code in FEE_CODES:
        c_frac, c_fee, c_amt = credit.get(code, (ZERO, ZERO, ZERO))
        n_frac, n_fee, n_amt = charge.get(code, (ZERO, ZERO, ZERO))
        amount = n_amt - c_amt
        if not amount:
            continue
        if not c_amt:
            quantity, unit = n_frac, n_fee
        elif not n_amt:
            quantity, unit = c_frac, -c_fee
        elif c_frac == n_frac:
            quantity, unit = n_frac, n_fee - c_fee
        else:
            quantity, unit = Decimal(1), amount
        line_code = "base_fee_proration" if code == "base_fee" else code
        what = code.replace("_", " ")
        left = n_frac if n_amt else c_frac  # a fee only credited (standard -> enterprise's base fee): its own term
        started = old is None or old[0].version == NO_SUBSCRIPTION  # a first subscription is no change
        event = "Start of" if started else "Change to"
        desc = f"{event} {name} on {at.date().isoformat()}: {what}, {fraction_text(left)} of its term left"
        lines.append(FeeLine(line_code, desc, quantity, unit, amount))
    return lines


def fee_lines(
    period: Period,
    segments: Sequence[tuple[datetime, SubscriptionVersion, Tier]],
) -> list[FeeLine]:
    """All fee lines of a period: ``segments`` are (start, version, tier) in time order."""
    if not segments:
        return []
    first_start, first, first_tier = segments[0]
    if first_start <= period.start:
        lines = advance_fee_lines(first, first_tier, period)
    else:
        lines = change_fee_lines(None, (first, first_tier), period, first_start)
    for (_, prev, prev_tier), (start, version, tier) in pairwise(segments):
        lines += change_fee_lines((prev, prev_tier), (version, tier), period, start)
    return lines
