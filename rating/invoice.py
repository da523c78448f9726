"""The invoice of one account and period, from settled usage: a pure function (docs/architecture.md §10).

Rules (docs/rating.md):
- Metered usage is rated under the subscription version in effect when it happened; the included
  quantity belongs to the period and is consumed in time order across versions (each segment is
  charged the difference its own rule makes between the cumulative usage before and after it).
  A canceled version, or no subscription at all, is rated under the catalog's default tier.
- Fees (base fee, annual fees, upgrade proration): see rating/fees.py.
- Seats are the distinct active users (any usage event, rating/seats.py) of the stretches under a
  seat-priced tier — or, under a ``provisioned`` seat basis, the most members at once — priced once under
  the last such tier; storage is the period's time-weighted
  average GB (stretches weighted by their length), priced once under the version in effect at the
  period end.
- Late events past settlement arrive as ``correction:<code>`` lines of a later period.
- Every line is rounded to cents half-even once; totals add rounded lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from rating.catalog.model import CatalogVersion, Tier
from rating.credits import CREDIT_PREFIX, TRUE_UP, CreditGrant, draw, is_charge, true_up
from rating.errors import RatingError
from rating.fees import fee_lines
from rating.money import ZERO, line_amount, money_text, quantity_text
from rating.periods import Period, contract_year_containing
from rating.pricing import metric_charge, tiered_charge
from rating.seats import counted_seats
from rating.subscriptions import NO_SUBSCRIPTION, Segment, SubscriptionHistory, SubscriptionVersion, rated_tier
from rating.usage import PeriodUsage
from schemas.events import Metric

_US = timedelta(microseconds=1)
# Lines that carry a change to an earlier finalized period into this one.
CORRECTION_PREFIX = "correction:"
# Tax lines (rating/tax.py): left out of the subtotal, never taxed themselves.
TAX_PREFIX = "tax:"
# What a final invoice would owe below zero (a late event that lowered an earlier period): carried to the next.
CARRIED = "carried_forward"


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
            "quantity": quantity_text(self.quantity),
            "unit_price": quantity_text(self.unit_price),
            "amount": money_text(self.amount),
        }


@dataclass(frozen=True, slots=True)
class LineTotal:
    """One line code's quantity and amount, summed over the lines of an invoice that carry it."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO

    def __add__(self, other: LineTotal) -> LineTotal:
        return LineTotal(self.quantity + other.quantity, self.amount + other.amount)


def totals_by_code(lines: Iterable[InvoiceLine]) -> dict[str, LineTotal]:
    """Each line code's total, what a later correction of the period compares: correction lines left out, and
    tax and credit lines too — the invoice that carries a correction taxes it and draws its credits on it like
    its own lines, so carrying them as well would tax the tax and draw a grant past its amount."""
    out: dict[str, LineTotal] = {}
    for ln in lines:
        if not ln.code.startswith((CORRECTION_PREFIX, TAX_PREFIX, CREDIT_PREFIX)):
            out[ln.code] = out.get(ln.code, LineTotal()) + LineTotal(ln.quantity, ln.amount)
    return out


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
        """Every line but the tax lines (``tax:<rate>``, rating/tax.py)."""
        return sum((ln.amount for ln in self.lines if not ln.code.startswith(TAX_PREFIX)), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)

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


class InvoiceError(RatingError):
    """The inputs of an invoice do not fit together (no subscription, usage not split per version...)."""


@dataclass(frozen=True, slots=True)
class Correction:
    """A late event's effect on a finalized period, billed in a later one (docs/architecture.md §7)."""

    code: str
    description: str
    amount: Decimal  # full precision; may be negative (a credit)
    quantity: Decimal = Decimal(1)
    source_period: str = ""  # the key of the period it corrects ("" unknown)


def carry_negative(invoice: Invoice) -> tuple[Invoice, Decimal]:
    """A final invoice never owes below zero: what its total is below it is carried to the next invoice, as
    Stripe credits a negative invoice to the customer's balance. Returns the invoice (with a ``carried_forward``
    line bringing it to zero) and the amount carried (negative; zero when nothing is)."""
    if invoice.total >= 0:
        return invoice, ZERO
    carried = invoice.total
    line = InvoiceLine(CARRIED, "Credit carried to the next invoice", Decimal(1), -carried, -carried)
    return replace(invoice, lines=(*invoice.lines, line)), carried


def billing_segments(history: SubscriptionHistory, period: Period, catalog: CatalogVersion) -> list[Segment]:
    """The stretches of ``period`` an invoice rates separately (split settled usage along them); an
    account without a subscription is one stretch under the catalog's default tier, and so is the part
    of the period before a subscription that starts inside it (its usage is rated as it happened)."""
    segments = history.segments(period)
    if segments and (segments[0].start <= period.start or catalog.default_tier is None):
        return segments
    if catalog.default_tier is None:
        raise InvoiceError(f"{history.account_id} has no subscription in {period.key} and no default tier")
    default = SubscriptionVersion(
        account_id=history.account_id,
        account_kind="user",
        tier=catalog.default_tier,
        anchor=period.start.date(),
        effective_from=period.start,
        version=NO_SUBSCRIPTION,
    )
    if segments:
        return [Segment(period.start, segments[0].start, default), *segments]
    return [Segment(period.start, period.end, default)]


def preview_invoice(
    history: SubscriptionHistory,
    usage_by_segment: Sequence[PeriodUsage],
    period: Period,
    catalog: CatalogVersion,
    *,
    status: Literal["draft", "final"] = "draft",
    corrections: Sequence[Correction] = (),
    credits: Sequence[CreditGrant] = (),
    charged_earlier_in_year: Decimal = ZERO,
) -> Invoice:
    """The invoice document of ``period``. ``usage_by_segment[i]`` is the usage during the i-th of
    ``history.segments(period)`` (one entry when the subscription did not change; an account without
    a subscription is one segment under the catalog's default tier). ``credits``: the account's grants
    with what earlier invoices left of them; ``charged_earlier_in_year``: the charges of the contract
    year's earlier invoices, for a per-year commitment (rating/credits.py)."""
    segments = billing_segments(history, period, catalog)
    if len(usage_by_segment) != len(segments):
        raise InvoiceError(f"{len(segments)} subscription segments but {len(usage_by_segment)} usage parts")
    tiers = [rated_tier(seg.version, catalog) for seg in segments]
    fee_tiers = [seg.version.tier_of(catalog.tiers) for seg in segments]
    lines: list[InvoiceLine] = []
    flags: list[Flag] = []
    fee_segments = [(seg.start, seg.version, t) for seg, t in zip(segments, fee_tiers, strict=True)]
    for f in fee_lines(period, fee_segments):
        lines.append(InvoiceLine(f.code, f.description, f.quantity, f.unit_price, line_amount(f.amount)))
    lines += _metered_lines(segments, tiers, usage_by_segment, flags)
    lines += _seat_lines(tiers, usage_by_segment)
    lines += _storage_lines(segments, tiers, usage_by_segment, period, flags)
    lines += _addon_lines(segments[-1].version, catalog, usage_by_segment)
    for c in corrections:
        unit = c.amount / c.quantity if c.quantity else c.amount
        lines.append(
            InvoiceLine(f"{CORRECTION_PREFIX}{c.code}", c.description, c.quantity, unit, line_amount(c.amount))
        )
    lines += _commitment_lines(segments[-1].version, period, lines, corrections, charged_earlier_in_year)
    for grant, used in draw(credits, sum((ln.amount for ln in lines), ZERO), period):
        lines.append(InvoiceLine(f"{CREDIT_PREFIX}{grant.grant_id}", f"Credit: {grant.name}", Decimal(1), -used, -used))
    return Invoice(history.account_id, period, status, tuple(lines), tuple(flags))


def _commitment_lines(
    version: SubscriptionVersion,
    period: Period,
    lines: Sequence[InvoiceLine],
    corrections: Sequence[Correction],
    charged_earlier: Decimal,
) -> list[InvoiceLine]:
    commitment = version.contract.commitment if version.contract is not None else None
    if commitment is None:
        return []
    # A commitment counts the charges of its own span: a correction belongs to the period it corrects, whose
    # true-up it corrects too (counted elsewhere, this span's commitment would swallow late usage). Per period:
    # the invoice's own lines; per contract year: also the corrections of the year's earlier periods.
    own = [ln for ln in lines if not ln.code.startswith(CORRECTION_PREFIX)]
    charged = sum((ln.amount for ln in own if is_charge(ln.code)), ZERO)
    if commitment.per == "contract_year":
        year_key = contract_year_containing(version.anchor, period.start).key
        of_year = [c for c in corrections if is_charge(c.code) and (c.source_period or year_key) >= year_key]
        charged += sum((line_amount(c.amount) for c in of_year), ZERO)
    short = true_up(commitment, charged, period, version.anchor, charged_earlier)
    if not short:
        return []
    per = "period" if commitment.per == "period" else "contract year"
    desc = f"Commitment true-up ({money_text(commitment.amount)} per {per})"
    return [InvoiceLine(TRUE_UP, desc, Decimal(1), short, line_amount(short))]


def _seat_lines(tiers: Sequence[Tier], usage: Sequence[PeriodUsage]) -> list[InvoiceLine]:
    """The seats of the stretches under a seat-priced tier (``rating/seats.py``: distinct active users, or the
    most members at once under a ``provisioned`` basis), priced under the last such tier."""
    priced = [(t, u) for t, u in zip(tiers, usage, strict=True) if t.seats is not None]
    if not priced:
        return []
    users = frozenset().union(*(u.seat_users for _, u in priced))
    if users:
        active = len(users)
    else:
        counted = [u.seats for _, u in priced if u.seats]
        if len(counted) > 1:
            raise InvoiceError("seat counts of several stretches cannot be combined: pass seat_users")
        active = counted[0] if counted else 0
    last = priced[-1][0]
    count = counted_seats(last.seat_basis, active, max(u.most_members for _, u in priced))
    price, minimum = last.seats, last.minimum_seats
    billed = max(count, minimum)  # a contract's minimum seats are billed however few are active
    if not billed or price is None:
        return []
    ch = tiered_charge(price, Decimal(billed))
    kind = "provisioned" if last.seat_basis == "provisioned" else "active"
    text = f"{count} {kind} seats" if billed == count else f"{billed} seats (contract minimum; {count} {kind})"
    return [InvoiceLine("seats", text, ch.quantity, ch.unit_price, line_amount(ch.amount))]


def _storage_lines(
    segments: Sequence[Segment],
    tiers: Sequence[Tier],
    usage: Sequence[PeriodUsage],
    period: Period,
    flags: list[Flag],
) -> list[InvoiceLine]:
    """The period's time-weighted average GB (stretches weighted by length), under the last version's rule."""
    rule = tiers[-1].metrics.get(Metric.STORAGE_GB)
    if rule is None:
        return []
    total = Decimal((period.end - period.start) // _US)
    avg = (
        sum((u.storage_gb_avg * Decimal((s.end - s.start) // _US) for s, u in zip(segments, usage, strict=True)), ZERO)
        / total
    )
    ch = metric_charge(rule, avg)
    _flag(flags, Metric.STORAGE_GB.value, ch.over_cap, ch.not_entitled)
    if not ch.amount:
        return []
    desc = "Storage over the included GB (GB-month, time-weighted)"
    return [InvoiceLine("storage_overage", desc, ch.billable, ch.unit_price, line_amount(ch.amount))]


def _addon_lines(
    version: SubscriptionVersion, catalog: CatalogVersion, usage: Sequence[PeriodUsage]
) -> list[InvoiceLine]:
    """Contracted add-ons of the period, at the contract's price, else the catalog's (none: by quote)."""
    quantities: dict[str, Decimal] = {}
    for u in usage:
        for name, qty in u.addons.items():
            quantities[name] = quantities.get(name, ZERO) + qty
    contract = version.contract
    lines = []
    for name, qty in sorted(quantities.items()):
        addon = catalog.addons.get(name)
        price = contract.addons.get(name) if contract else None
        if price is None and addon is not None:
            price = addon.unit_amount
        if qty and price is None:
            raise InvoiceError(f"add-on {name!r} has no price in the catalog or the contract (by quote)")
        if qty and price is not None:
            desc = addon.description if addon else name
            lines.append(InvoiceLine(f"addon:{name}", desc, qty, price, line_amount(qty * price)))
    return lines


def _metered_lines(
    segments: Sequence[Segment], tiers: Sequence[Tier], usage: Sequence[PeriodUsage], flags: list[Flag]
) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    # API calls: quota of the period, consumed in time order; each segment priced by its own rule.
    before = ZERO
    billable, amount, price = ZERO, ZERO, ZERO
    for tier, part in zip(tiers, usage, strict=True):
        rule = tier.metrics.get(Metric.API_CALLS)
        after = before + part.api_calls
        if rule is not None:
            a, b = metric_charge(rule, before), metric_charge(rule, after)
            billable += b.billable - a.billable
            amount += b.amount - a.amount
            price = b.unit_price or price
            _flag(flags, Metric.API_CALLS.value, b.over_cap - a.over_cap, b.not_entitled - a.not_entitled)
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
        rule = tier.metrics.get(Metric.PREMIUM_FEATURE)
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
        rule = tier.metrics.get(Metric.AI_REQUESTS)
        if rule is not None and not rule.entitled and part.ai_requests:
            _flag(flags, Metric.AI_REQUESTS.value, ZERO, part.ai_requests)
    return lines


def _flag(flags: list[Flag], metric: str, over_cap: Decimal, not_entitled: Decimal) -> None:
    if over_cap > 0:
        flags.append(Flag(metric, "hard_cap", over_cap))
    if not_entitled > 0:
        flags.append(Flag(metric, "not_entitled", not_entitled))
