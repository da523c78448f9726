"""Quota state and alert decisions for one account, metric and period (docs/architecture.md §6).

Pure: given the period-to-date usage before and after a batch, say what the state is now and which
thresholds were crossed by this batch. Usage only grows within a period, so each alert is raised
once per account, metric and period.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from rating.catalog.model import MeteredRule, Tier
from rating.errors import RatingError
from rating.money import ZERO, fixed_text

AlertKind = Literal["quota_80", "quota_100", "hard_cap", "not_entitled", "fair_use"]
EIGHTY = Decimal("0.8")
#: The rule of a metric a tier does not list: not entitled.
NOT_ENTITLED = MeteredRule(entitled=False)


def metric_rule(tier: Tier, metric: str) -> MeteredRule:
    """The tier's rule for ``metric``; a metric the tier does not list is not entitled."""
    return tier.metrics.get(metric, NOT_ENTITLED)


@dataclass(frozen=True, slots=True)
class MetricEntitlement:
    """Whether more usage of a metric is allowed now, and why not."""

    allowed: bool
    limit: Decimal | None  # the hard cap, else the included quantity, else None (unlimited)
    remaining: Decimal | None
    reason: Literal["not_entitled", "hard_capped"] | None


def metric_entitlement(rule: MeteredRule, used: Decimal) -> MetricEntitlement:
    """The entitlement decision for a metric with ``used`` period-to-date: blocked when not entitled or at
    or past the hard cap (the same cap ``quota_state`` reports as ``hard_capped``)."""
    limit = rule.hard_cap if rule.hard_cap is not None else rule.included
    capped = rule.hard_cap is not None and used >= rule.hard_cap
    reason: Literal["not_entitled", "hard_capped"] | None = (
        "not_entitled" if not rule.entitled else "hard_capped" if capped else None
    )
    remaining = max(ZERO, limit - used) if limit is not None else None
    return MetricEntitlement(reason is None, limit, remaining, reason)


def premium_entitled(rule: MeteredRule, feature: str) -> bool:
    """Whether a premium feature is allowed under the tier's ``premium_feature`` rule."""
    return rule.entitled and feature in rule.per_feature


@dataclass(frozen=True, slots=True)
class QuotaState:
    account_id: str
    metric: str
    period: str
    used: Decimal
    included: Decimal | None  # None: unlimited
    remaining: Decimal | None
    hard_cap: Decimal | None
    over_limit: bool  # past the included quantity (billed as overage where priced)
    hard_capped: bool  # at or past the hard cap: gateways should block
    entitled: bool
    rate_limit_per_minute: int
    as_of: datetime

    def to_record(self, as_of: str | None = None) -> dict[str, object]:
        """The ``billing.quota-state`` record; ``as_of``: the time as text, when the caller has it already."""
        return _record(
            self.account_id,
            self.metric,
            self.period,
            self.used,
            self.included,
            self.remaining,
            self.hard_cap,
            self.over_limit,
            self.hard_capped,
            self.entitled,
            self.rate_limit_per_minute,
            as_of or self.as_of.isoformat(),
        )


def _text(d: Decimal | None) -> str | None:
    return None if d is None else fixed_text(d.normalize())


def _record(
    account_id: str,
    metric: str,
    period: str,
    used: Decimal,
    included: Decimal | None,
    remaining: Decimal | None,
    hard_cap: Decimal | None,
    over_limit: bool,
    hard_capped: bool,
    entitled: bool,
    rate_limit: int,
    as_of: str,
) -> dict[str, object]:
    return {
        "account_id": account_id,
        "metric": metric,
        "period": period,
        "used": _text(used),
        "included": _text(included),
        "remaining": _text(remaining),
        "hard_cap": _text(hard_cap),
        "over_limit": over_limit,
        "hard_capped": hard_capped,
        "entitled": entitled,
        "rate_limit_per_minute": rate_limit,
        "as_of": as_of,
    }


def quota_state(
    account_id: str, metric: str, period: str, rule: MeteredRule, rate_limit: int, used: Decimal, as_of: datetime
) -> QuotaState:
    return QuotaState(account_id, metric, period, used, *_limits(rule, used), rule.entitled, rate_limit, as_of)


def quota_record(
    account_id: str, metric: str, period: str, rule: MeteredRule, rate_limit: int, used: Decimal, as_of: str
) -> dict[str, object]:
    """``quota_state(...).to_record(as_of)`` without building the state: the live stage writes one per
    account, metric and step, and a frozen dataclass of twelve fields costs more than the record."""
    return _record(account_id, metric, period, used, *_limits(rule, used), rule.entitled, rate_limit, as_of)


def _limits(rule: MeteredRule, used: Decimal) -> tuple[Decimal | None, Decimal | None, Decimal | None, bool, bool]:
    """(included, remaining, hard cap, over the included quantity, hard-capped) at ``used``."""
    included, cap = rule.included, rule.hard_cap
    return (
        included,
        None if included is None else max(ZERO, included - used),
        cap,
        included is not None and used > included,
        cap is not None and used >= cap,
    )


@dataclass(frozen=True, slots=True)
class Alert:
    account_id: str
    metric: str
    period: str
    kind: AlertKind
    threshold: Decimal
    used: Decimal
    at: datetime


def new_alerts(
    account_id: str,
    metric: str,
    period: str,
    rule: MeteredRule,
    before: Decimal,
    after: Decimal,
    at: datetime,
    raised: Collection[str] | None = None,
) -> list[Alert]:
    """The alerts to raise now: thresholds reached at ``after`` that were not raised yet.

    ``raised``: the kinds already raised for this account, metric and period. Without it, a threshold
    already reached at ``before`` counts as raised. With it, a threshold the usage already passed is
    still raised once when a tier change lowers it (a downgrade), and one raised under the earlier
    tier is not raised again (each alert once per account, metric and period).
    """
    out: list[Alert] = []

    def due(kind: AlertKind, threshold: Decimal) -> bool:
        if after < threshold or (threshold == 0 and after == 0):
            return False
        return kind not in raised if raised is not None else before < threshold or (threshold == 0 and before == 0)

    def alert(kind: AlertKind, threshold: Decimal) -> None:
        if due(kind, threshold):
            out.append(Alert(account_id, metric, period, kind, threshold, after, at))

    if not rule.entitled:
        alert("not_entitled", ZERO)
        return out
    if rule.included is not None and rule.included > 0:
        alert("quota_80", rule.included * EIGHTY)
        alert("quota_100", rule.included)
    if rule.hard_cap is not None:
        alert("hard_cap", rule.hard_cap)
    if rule.fair_use_alert is not None:
        alert("fair_use", rule.fair_use_alert)
    return out


@dataclass(frozen=True, slots=True)
class RatedDelta:
    """What one batch added to a period's rating: the deltas the live stage emits on usage.rated."""

    quantity: Decimal
    included: Decimal
    billable: Decimal
    unit_price: Decimal
    amount: Decimal  # provisional, full precision


def rate_delta(rule: MeteredRule, before: Decimal, after: Decimal) -> RatedDelta:
    """``metric_charge(rule, after)`` less ``metric_charge(rule, before)``, field by field."""
    return RatedDelta(*delta_parts(rule, before, after))


def delta_parts(
    rule: MeteredRule, before: Decimal, after: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    """``rate_delta``'s fields as a tuple (quantity, included, billable, unit price, amount).

    The live stage calls this for every account, metric and step, so it computes the two charges
    inline (the same arithmetic as ``metric_charge``, tested equal) instead of building them, and
    returns a tuple (a frozen dataclass costs a microsecond to build).
    """
    if before < 0 or after < 0:
        raise RatingError(f"negative quantity {min(before, after)}")
    if not rule.entitled:
        return after - before, ZERO, ZERO, ZERO, ZERO
    cap, inc = rule.hard_cap, rule.included
    price = rule.unit_price or ZERO
    priced = price > 0
    charges = []
    for q in (before, after):
        usable = q if cap is None or not cap < q else cap  # min(q, cap), keeping min's choice on ties
        included = usable if inc is None or not inc < usable else inc
        billable = usable - included if priced else ZERO
        charges.append((included, billable, billable * price))
    (inc_a, bill_a, amt_a), (inc_b, bill_b, amt_b) = charges
    return after - before, inc_b - inc_a, bill_b - bill_a, price, amt_b - amt_a
