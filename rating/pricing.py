"""Pure price arithmetic: tiered prices, included quantities, hard caps and entitlements."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rating.catalog.model import MeteredRule, TieredPrice
from rating.errors import RatingError
from rating.money import ZERO


@dataclass(frozen=True, slots=True)
class TieredCharge:
    quantity: Decimal
    unit_price: Decimal  # volume: the reached tier's price; graduated: amount / quantity
    amount: Decimal


def tiered_charge(price: TieredPrice, quantity: Decimal) -> TieredCharge:
    """Volume: every unit at the reached tier's price (+ its flat amount). Graduated: each tier its own."""
    if quantity < 0:
        raise RatingError(f"negative quantity {quantity}")
    if quantity == 0:
        return TieredCharge(ZERO, price.tiers[0].unit_amount, ZERO)
    if price.mode == "volume":
        for tier in price.tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return TieredCharge(quantity, tier.unit_amount, quantity * tier.unit_amount + tier.flat_amount)
        raise AssertionError("the last tier has no bound")  # guaranteed by TieredPrice
    amount, lower = ZERO, ZERO
    for tier in price.tiers:
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        if upper > lower:
            amount += (upper - lower) * tier.unit_amount + tier.flat_amount
        lower = upper if tier.up_to is None else tier.up_to
        if quantity <= lower:
            break
    return TieredCharge(quantity, amount / quantity, amount)


@dataclass(frozen=True, slots=True)
class MetricCharge:
    """How a period's quantity of one metric splits: included, billable, past the cap, not entitled."""

    quantity: Decimal
    included: Decimal
    billable: Decimal
    over_cap: Decimal  # stored and flagged, never billed
    not_entitled: Decimal  # stored and flagged, never billed
    unit_price: Decimal
    amount: Decimal  # full precision; rounded once at the invoice line


def metric_charge(rule: MeteredRule, quantity: Decimal) -> MetricCharge:
    """Rate a period-to-date quantity under one metered rule (monotone: more usage never costs less)."""
    if quantity < 0:
        raise RatingError(f"negative quantity {quantity}")
    if not rule.entitled:
        return MetricCharge(quantity, ZERO, ZERO, ZERO, quantity, ZERO, ZERO)
    usable = quantity if rule.hard_cap is None else min(quantity, rule.hard_cap)
    over_cap = quantity - usable
    included = usable if rule.included is None else min(usable, rule.included)
    price = rule.unit_price or ZERO
    billable = usable - included if price > 0 else ZERO
    return MetricCharge(quantity, included, billable, over_cap, ZERO, price, billable * price)
