"""The invoice of one account and period, from settled usage: a pure function (DESIGN §10).

Rules (docs/rating.md):
- Metered usage is rated under the subscription version in effect when it happened; the included
  quantity belongs to the period and is consumed in time order across versions (each segment is
  charged the difference its own rule makes between the cumulative usage before and after it).
- The base fee is charged in advance for the version in effect at the period start; an upgrade
  inside the period adds ``base_fee_proration`` = (new fee - old fee) x the fraction of the billing
  interval left. Downgrades and cancellations take effect at a period end, so they never prorate.
- Annual fees (standard yearly base fee, enterprise platform fee) are charged in the period that
  starts in the anchor's month, i.e. once per contract year, in advance.
- Seats (distinct active users) and storage (time-weighted average) are priced once per period
  under the version in effect at its end.
- Every line is rounded to cents half-even once; totals add rounded lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from rating.catalog.model import CatalogVersion, Tier
from rating.money import ZERO, line_amount, money_text
from rating.periods import Period
from rating.pricing import metric_charge, tiered_charge
from rating.subscriptions import Segment, SubscriptionHistory
from rating.usage import PeriodUsage

_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded to cents

    def to_document(self) -> dict[str, str]:
        return {
            "code": self.code,
            "description": self.description,
            "quantity": f"{self.quantity.normalize():f}" if self.quantity else "0",
            "unit_price": f"{self.unit_price.normalize():f}" if self.unit_price else "0",
            "amount": money_text(self.amount),
        }


@dataclass(frozen=True, slots=True)
class Flag:
    """Usage that was stored but not billed, and why (hard cap, entitlement)."""

    metric: str
    reason: Literal["hard_cap", "not_entitled"]
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    account_id: str
    period: Period
    status: Literal["draft", "final"]
    lines: tuple[InvoiceLine, ...]
    flags: tuple[Flag, ...] = field(default=())
    currency: str = "usd"

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal

    def to_document(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "currency": self.currency,
            "status": self.status,
            "lines": [ln.to_document() for ln in self.lines],
            "subtotal": money_text(self.subtotal),
            "total": money_text(self.total),
        }


def _fraction_left(start: datetime, end: datetime, at: datetime) -> Decimal:
    """Exact fraction of [start, end) left at ``at`` (integer microseconds, no float)."""
    return Decimal((end - at) // _US) / Decimal((end - start) // _US)


def _fee(tier: Tier, interval: str) -> Decimal:
    return Decimal(tier.base_fee.get(interval, ZERO))  # type: ignore[call-overload]


def preview_invoice(
    history: SubscriptionHistory,
    usage_by_segment: Sequence[PeriodUsage],
    period: Period,
    catalog: CatalogVersion,
    *,
    status: Literal["draft", "final"] = "draft",
) -> Invoice:
    """The invoice document of ``period``. ``usage_by_segment[i]`` is the usage during the i-th of
    ``history.segments(period)`` (one entry when the subscription did not change)."""
    segments = history.segments(period) or []
    if not segments:
        raise ValueError(f"{history.account_id} has no subscription in {period.key}")
    if len(usage_by_segment) != len(segments):
        raise ValueError(f"{len(segments)} subscription segments but {len(usage_by_segment)} usage parts")
    tiers = [seg.version.tier_of(catalog.tiers) for seg in segments]
    lines: list[InvoiceLine] = []
    flags: list[Flag] = []
    lines += _fee_lines(segments, tiers, period)
    lines += _metered_lines(segments, tiers, usage_by_segment, flags)
    last_tier, last_usage = tiers[-1], usage_by_segment[-1]
    if last_tier.seats is not None and last_usage.seats:
        seats = tiered_charge(last_tier.seats, Decimal(last_usage.seats))
        lines.append(
            InvoiceLine(
                "seats", f"{last_usage.seats} active seats", seats.quantity, seats.unit_price, line_amount(seats.amount)
            )
        )
    storage_rule = last_tier.metrics.get("storage_gb")
    if storage_rule is not None:
        ch = metric_charge(storage_rule, last_usage.storage_gb_avg)
        if ch.amount:
            lines.append(
                InvoiceLine(
                    "storage_overage",
                    "Storage over the included GB (GB-month, time-weighted)",
                    ch.billable,
                    ch.unit_price,
                    line_amount(ch.amount),
                )
            )
        _flag(flags, "storage_gb", ch.over_cap, ch.not_entitled)
    for name, qty in sorted(last_usage.addons.items()):
        addon = catalog.addons.get(name)
        contract = segments[-1].version.contract
        price = (contract.addons.get(name) if contract else None) or (addon.unit_amount if addon else None)
        if price is not None and qty:
            desc = addon.description if addon else name
            lines.append(InvoiceLine(f"addon:{name}", desc, qty, price, line_amount(qty * price)))
    return Invoice(history.account_id, period, status, tuple(lines), tuple(flags))


def _recurring_fee(fees: dict[str, Decimal], interval: str) -> tuple[Decimal, bool] | None:
    """The fee for the plan's interval, else an annual one (an enterprise platform fee); (fee, annual)."""
    if interval in fees:
        return Decimal(fees[interval]), interval == "year"
    if "year" in fees:
        return Decimal(fees["year"]), True
    return None


def _fee_lines(segments: Sequence[Segment], tiers: Sequence[Tier], period: Period) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    first, tier = segments[0].version, tiers[0]
    for code, fees in (("base_fee", tier.base_fee), ("platform_fee", tier.platform_fee)):
        found = _recurring_fee({str(k): v for k, v in fees.items()}, first.interval)
        if found is None or not found[0]:
            continue
        fee, annual = found
        if annual and period.start.month != first.anchor.month:
            continue  # annual fees are charged once per contract year, in advance
        label = "annual" if annual else "monthly"
        desc = f"{tier.display_name} {code.replace('_', ' ')} ({label})"
        lines.append(InvoiceLine(code, desc, Decimal(1), fee, line_amount(fee)))
    # Upgrades inside the period: the difference for the time left.
    for prev_tier, seg, tier in zip(tiers, segments[1:], tiers[1:], strict=False):
        old = _fee(prev_tier, seg.version.interval)
        new = _fee(tier, seg.version.interval)
        if new > old:
            frac = _fraction_left(period.start, period.end, seg.start)
            amount = (new - old) * frac
            lines.append(
                InvoiceLine(
                    "base_fee_proration",
                    f"Upgrade to {tier.display_name}: {frac:.4f} of the period left",
                    frac,
                    new - old,
                    line_amount(amount),
                )
            )
    return lines


def _metered_lines(
    segments: Sequence[Segment], tiers: Sequence[Tier], usage: Sequence[PeriodUsage], flags: list[Flag]
) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    # API calls: quota of the period, consumed in time order; each segment priced by its own rule.
    before = ZERO
    billable, amount, price = ZERO, ZERO, ZERO
    for tier, part in zip(tiers, usage, strict=True):
        rule = tier.metrics.get("api_calls")
        after = before + part.api_calls
        if rule is not None:
            a, b = metric_charge(rule, before), metric_charge(rule, after)
            billable += b.billable - a.billable
            amount += b.amount - a.amount
            price = b.unit_price or price
            _flag(flags, "api_calls", b.over_cap - a.over_cap, b.not_entitled - a.not_entitled)
        before = after
    if amount:
        lines.append(
            InvoiceLine(
                "api_calls_overage", "API calls over the included quantity", billable, price, line_amount(amount)
            )
        )
    # Premium features: per use, at the price of the version in effect when used.
    per_feature: dict[str, tuple[Decimal, Decimal]] = {}
    for tier, part in zip(tiers, usage, strict=True):
        rule = tier.metrics.get("premium_feature")
        for feature, uses in part.premium_features.items():
            if rule is None or not rule.entitled or feature not in rule.per_feature:
                _flag(flags, f"premium_feature:{feature}", ZERO, uses)
                continue
            q, amt = per_feature.get(feature, (ZERO, ZERO))
            per_feature[feature] = (q + uses, amt + uses * rule.per_feature[feature])
    for feature, (q, amt) in sorted(per_feature.items()):
        if q:
            lines.append(
                InvoiceLine(f"premium_feature:{feature}", f"Premium feature {feature}", q, amt / q, line_amount(amt))
            )
    for tier, part in zip(tiers, usage, strict=True):
        rule = tier.metrics.get("ai_requests")
        if rule is not None and not rule.entitled and part.ai_requests:
            _flag(flags, "ai_requests", ZERO, part.ai_requests)
    return lines


def _flag(flags: list[Flag], metric: str, over_cap: Decimal, not_entitled: Decimal) -> None:
    if over_cap > 0:
        flags.append(Flag(metric, "hard_cap", over_cap))
    if not_entitled > 0:
        flags.append(Flag(metric, "not_entitled", not_entitled))
