"""Cost optimization recommendations: each saving is the difference of invoices the rating code
computes for the same usage under the account's plan and under the alternative (docs/forecasting.md).

Pure: the periods' usage (settled, or a forecast's expected usage for periods to come) is passed in.
Shown only when the saving reaches a configured minimum, so they are never pushy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rating.catalog.model import CatalogVersion, ContractOverrides
from rating.invoice import preview_invoice
from rating.money import ZERO
from rating.periods import Period
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

#: Three periods of included quota unused before a downgrade is suggested (issue #18).
UNUSED_PERIODS = 3
#: A contract's price of a premium feature: the list price less this share (the volume price sales offers;
#: docs/forecasting.md). Worth a contract only when the saving reaches the configured minimum.
CONTRACT_FEATURE_DISCOUNT = Decimal("0.20")


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: str  # annual | upgrade | downgrade | seats | contract
    title: str
    saving: Decimal  # over ``periods``: current invoices minus the alternative's
    periods: int
    current_total: Decimal
    alternative_total: Decimal


def plan_total(
    version: SubscriptionVersion, usage: Sequence[tuple[Period, PeriodUsage]], catalog: CatalogVersion
) -> Decimal:
    """What ``version`` invoices for each period's usage, summed (the version in effect from the first
    period's start)."""
    if not usage:
        return ZERO
    v = version.model_copy(update={"effective_from": min(usage[0][0].start, version.effective_from)})
    history = SubscriptionHistory(v.account_id, [v])
    return sum((preview_invoice(history, [u], p, catalog).total for p, u in usage), ZERO)


def _compare(
    kind: str,
    title: str,
    current: SubscriptionVersion,
    alternative: SubscriptionVersion,
    usage: Sequence[tuple[Period, PeriodUsage]],
    catalog: CatalogVersion,
) -> Recommendation:
    now_total = plan_total(current, usage, catalog)
    alt_total = plan_total(alternative, usage, catalog)
    return Recommendation(kind, title, now_total - alt_total, len(usage), now_total, alt_total)


def annual_instead_of_monthly(
    current: SubscriptionVersion, year: Sequence[tuple[Period, PeriodUsage]], catalog: CatalogVersion
) -> Recommendation | None:
    """A monthly plan paid yearly, over a contract year of (forecast) usage starting at ``year[0]``."""
    if current.interval != "month" or current.status != "active" or not year:
        return None
    start = year[0][0].start
    alt = current.model_copy(update={"interval": "year", "anchor": start.date(), "effective_from": start})
    return _compare("annual", f"Pay {current.tier} yearly instead of monthly", current, alt, year, catalog)


def change_tier(
    current: SubscriptionVersion,
    tier: str,
    usage: Sequence[tuple[Period, PeriodUsage]],
    catalog: CatalogVersion,
    *,
    kind: str,
) -> Recommendation | None:
    """The same usage under another tier (an upgrade that pays for itself, or a downgrade): ``None``
    when the other tier does not allow that usage (a hard cap it passes, a feature it lacks)."""
    if tier == current.tier or tier not in catalog.tiers or not usage:
        return None
    # Anchored where the compared periods start: a move then would have begun a contract year there, so an
    # annual fee (the enterprise platform fee) is paid in the window, not skipped for falling outside it.
    start = usage[0][0].start
    alt = current.model_copy(update={"tier": tier, "contract": None, "anchor": start.date()})
    history = SubscriptionHistory(alt.account_id, [alt.model_copy(update={"effective_from": start})])
    for p, u in usage:
        if preview_invoice(history, [u], p, catalog).flags:
            return None  # some usage would be capped or not entitled: not the same service
    name = catalog.tiers[tier].display_name
    return _compare(kind, f"Move to {name}", current, alt, usage, catalog)


def downgrade_when_quota_unused(
    current: SubscriptionVersion, last: Sequence[tuple[Period, PeriodUsage]], catalog: CatalogVersion, tier: str
) -> Recommendation | None:
    """``tier`` (a cheaper one) when the last UNUSED_PERIODS periods fit it entirely."""
    if len(last) < UNUSED_PERIODS:
        return None
    return change_tier(current, tier, last[-UNUSED_PERIODS:], catalog, kind="downgrade")


def unused_seats(
    current: SubscriptionVersion, usage: Sequence[tuple[Period, PeriodUsage]], catalog: CatalogVersion
) -> Recommendation | None:
    """A contract's minimum seats above the most seats actually active: the minimum lowered to that."""
    c = current.contract
    if c is None or not c.minimum_seats or not usage:
        return None
    active = max(len(u.seat_users) or u.seats for _, u in usage)
    if active >= c.minimum_seats:
        return None
    alt = current.model_copy(update={"contract": c.model_copy(update={"minimum_seats": active})})
    return _compare(
        "seats", f"Lower the contract's minimum seats from {c.minimum_seats} to {active}", current, alt, usage, catalog
    )


def premium_contract(
    current: SubscriptionVersion,
    usage: Sequence[tuple[Period, PeriodUsage]],
    catalog: CatalogVersion,
    discount: Decimal = CONTRACT_FEATURE_DISCOUNT,
) -> Recommendation | None:
    """Premium features used heavily: the same usage at a contract price of the features used (the list
    price less ``discount``), the account's other terms unchanged."""
    used = sorted({f for _, u in usage for f, n in u.premium_features.items() if n > 0})
    if not used or current.status != "active":
        return None
    tier = catalog.tiers.get(current.tier)
    if tier is None:
        return None
    terms = current.contract.apply(tier) if current.contract is not None else tier
    rule = terms.metrics.get("premium_feature")
    if rule is None or not rule.entitled or not any(f in rule.per_feature for f in used):
        return None
    prices = {f: (p * (1 - discount) if f in used else p) for f, p in rule.per_feature.items()}
    contract = current.contract or ContractOverrides.model_validate({})
    metrics = {**contract.metrics, "premium_feature": rule.model_copy(update={"per_feature": prices})}
    alt = current.model_copy(update={"contract": contract.model_copy(update={"metrics": metrics})})
    names = ", ".join(f.replace("_", " ") for f in used)
    title = f"A contract price for {names} ({discount:.0%} off the list price)"
    return _compare("contract", title, current, alt, usage, catalog)


def worth_showing(recs: Sequence[Recommendation | None], min_saving: Decimal) -> list[Recommendation]:
    """The recommendations that save at least ``min_saving``, largest saving first."""
    shown = [r for r in recs if r is not None and r.saving >= min_saving]
    return sorted(shown, key=lambda r: r.saving, reverse=True)
