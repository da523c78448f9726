"""Subscription lifecycle rules: pure decisions, time handed in (no I/O, no clock).

A subscription's *plan* is its terms now and what is scheduled: a trial's end, a downgrade or a
cancellation at the period end, the end of a dunning grace period. Each operation checks its
transition and returns a new plan (or a ``TransitionError`` naming the reason). ``versions_to_write``
then turns a plan into the subscription versions (docs/architecture.md §10) that make the account's history say
the same: one version at ``now`` if the terms change now, one at each scheduled instant, and an
override (same ``effective_from``, higher ``version``, which wins in ``SubscriptionHistory``) for any
scheduled version the plan no longer wants, e.g. a cancellation undone by ``reactivate``.

Rules (issue 6): an upgrade takes effect at once, its base fee prorated by ``rating/`` from the
history; a downgrade and a cancellation take effect at the period end; reactivation before the end
undoes a pending cancellation; a canceled subscription cannot be changed or reactivated;
``invoice.payment_failed`` makes it ``past_due`` for a grace period (the dunning schedule's last retry
day, ``rating.dunning``), then ``unpaid``; an invoiced account too long overdue is ``past_due`` until it
pays; ``invoice.paid`` (or the balance paid) makes it ``active`` again. Upgrade or downgrade is decided by
the fee arithmetic of ``rating.fees`` (charge > credit at the change), never by tier names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from rating.catalog.model import CatalogVersion, ContractOverrides
from rating.fees import change_fee_lines
from rating.periods import period_containing
from rating.subscriptions import Status, SubscriptionHistory, SubscriptionVersion
from schemas.events import epoch_ms

Interval = Literal["month", "year"]
Kind = Literal["user", "org"]


class TransitionError(Exception):
    """A change that the subscription's state does not allow; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True, slots=True)
class Terms:
    tier: str
    interval: Interval
    status: Status


@dataclass(frozen=True, slots=True)
class Plan:
    tier: str
    interval: Interval
    status: Status
    trial_end: datetime | None = None
    pending_tier: str | None = None
    pending_interval: Interval | None = None
    pending_at: datetime | None = None
    cancel_at: datetime | None = None
    grace_until: datetime | None = None

    def terms_at(self, t: datetime) -> Terms:
        tier, interval = self.tier, self.interval
        if self.pending_at is not None and t >= self.pending_at:
            tier = self.pending_tier or tier
            interval = self.pending_interval or interval
        status: Status = self.status
        if self.cancel_at is not None and t >= self.cancel_at:
            status = "canceled"
        elif status == "trialing" and self.trial_end is not None and t >= self.trial_end:
            status = "active"
        elif status == "past_due" and self.grace_until is not None and t >= self.grace_until:
            status = "unpaid"
        return Terms(tier, interval, status)

    def scheduled(self, now: datetime) -> list[datetime]:
        """The instants after ``now`` at which the plan's terms change."""
        points = {self.trial_end, self.pending_at, self.cancel_at, self.grace_until}
        return sorted(p for p in points if p is not None and p > now)

    def at(self, now: datetime) -> Plan:
        """The plan with everything due by ``now`` carried out (what the operations start from)."""
        terms = self.terms_at(now)
        plan = replace(self, tier=terms.tier, interval=terms.interval, status=terms.status)
        if self.pending_at is not None and self.pending_at <= now:
            plan = replace(plan, pending_tier=None, pending_interval=None, pending_at=None)
        if terms.status != "past_due":
            plan = replace(plan, grace_until=None)
        return plan

    @property
    def pending_change(self) -> bool:
        return self.pending_at is not None


def _period_end(anchor: date, now: datetime) -> datetime:
    return period_containing(anchor, now).end


def _check_tier(catalog: CatalogVersion, tier: str) -> None:
    if tier not in catalog.tiers:
        raise TransitionError(
            "unknown_tier", f"unknown tier {tier!r}: the catalog has {', '.join(sorted(catalog.tiers))}", status=422
        )


def create(catalog: CatalogVersion, tier: str, interval: Interval, now: datetime, trial_days: int = 0) -> Plan:
    _check_tier(catalog, tier)
    if trial_days:
        return Plan(tier, interval, "trialing", trial_end=now + timedelta(days=trial_days))
    return Plan(tier, interval, "active")


def is_upgrade(catalog: CatalogVersion, account: str, anchor: date, old: Terms, new: Terms, now: datetime) -> bool:
    """An upgrade is a change whose prorated charge exceeds the credit of what is left (``rating.fees``)."""

    def version(t: Terms) -> SubscriptionVersion:
        return SubscriptionVersion(
            account_id=account,
            account_kind="org",
            tier=t.tier,
            status="active",
            interval=t.interval,
            anchor=anchor,
            effective_from=now,
            version=1,  # a what-if of two subscribed terms (not NO_SUBSCRIPTION's stand-in)
        )

    period = period_containing(anchor, now)
    old_v, new_v = version(old), version(new)
    lines = change_fee_lines((old_v, old_v.tier_of(catalog.tiers)), (new_v, new_v.tier_of(catalog.tiers)), period, now)
    return bool(lines)


def change(
    plan: Plan,
    catalog: CatalogVersion,
    account: str,
    anchor: date,
    now: datetime,
    tier: str | None,
    interval: Interval | None,
) -> tuple[Plan, str]:
    """A tier or interval change; returns the new plan and what it was (upgrade, downgrade, ...)."""
    plan = plan.at(now)
    if plan.status == "canceled":
        raise TransitionError("subscription_canceled", "a canceled subscription cannot be changed: create a new one")
    if plan.cancel_at is not None:
        raise TransitionError("cancel_pending", "the subscription is canceling at the period end: reactivate it first")
    if plan.status in ("past_due", "unpaid"):
        raise TransitionError("payment_past_due", f"the subscription is {plan.status}: settle the open invoice first")
    target = Terms(tier or plan.tier, interval or plan.interval, plan.status)
    _check_tier(catalog, target.tier)
    current = Terms(plan.tier, plan.interval, plan.status)
    if target == current:
        if not plan.pending_change:
            raise TransitionError("no_change", f"the subscription already is {target.tier} ({target.interval})")
        return replace(plan, pending_tier=None, pending_interval=None, pending_at=None), "change_undone"
    if plan.pending_change and (plan.pending_tier, plan.pending_interval) == (target.tier, target.interval):
        raise TransitionError("no_change", f"a change to {target.tier} ({target.interval}) is already scheduled")
    if is_upgrade(catalog, account, anchor, current, target, now):
        cleared = replace(plan, pending_tier=None, pending_interval=None, pending_at=None)
        return replace(cleared, tier=target.tier, interval=target.interval), "upgrade"
    return (
        replace(plan, pending_tier=target.tier, pending_interval=target.interval, pending_at=_period_end(anchor, now)),
        "downgrade",
    )


def cancel(plan: Plan, anchor: date, now: datetime, *, immediately: bool) -> Plan:
    """Cancel at the period end (a trial: at its end, if sooner), or at once."""
    plan = plan.at(now)
    if plan.status == "canceled":
        raise TransitionError("subscription_canceled", "the subscription is already canceled")
    cleared = replace(plan, pending_tier=None, pending_interval=None, pending_at=None)
    if immediately:
        return replace(cleared, status="canceled", cancel_at=None, trial_end=None, grace_until=None)
    if plan.cancel_at is not None:
        raise TransitionError("cancel_pending", f"the subscription already cancels at {plan.cancel_at.isoformat()}")
    end = _period_end(anchor, now)
    if plan.status == "trialing" and plan.trial_end is not None:
        end = min(end, plan.trial_end)
    return replace(cleared, cancel_at=end)


def reactivate(plan: Plan, now: datetime) -> Plan:
    plan = plan.at(now)
    if plan.status == "canceled":
        raise TransitionError(
            "subscription_canceled", "a canceled subscription cannot be reactivated: create a new subscription"
        )
    if plan.cancel_at is None:
        raise TransitionError("not_canceling", "the subscription has no pending cancellation to undo")
    return replace(plan, cancel_at=None)


def payment_failed(plan: Plan, now: datetime, grace: timedelta) -> Plan | None:
    """``past_due`` with a grace period (then ``unpaid``); None when it changes nothing."""
    plan = plan.at(now)
    if plan.status not in ("active", "trialing"):
        return None
    return replace(plan, status="past_due", trial_end=None, grace_until=now + grace)


def invoice_overdue(plan: Plan, now: datetime) -> Plan | None:
    """``past_due`` (no grace: it lasts until the overdue invoice is paid) for an invoiced account past its
    overdue limit (``rating.dunning.DunningSchedule.past_due_after_days``); None when it changes nothing."""
    plan = plan.at(now)
    if plan.status not in ("active", "trialing"):
        return None
    return replace(plan, status="past_due", trial_end=None, grace_until=None)


def payment_recovered(plan: Plan, now: datetime) -> Plan | None:
    """``active`` again after a payment; None when it changes nothing."""
    plan = plan.at(now)
    if plan.status not in ("past_due", "unpaid"):
        return None
    return replace(plan, status="active", grace_until=None)


@dataclass(frozen=True, slots=True)
class Identity:
    """What every version of the subscription carries besides its terms."""

    account_id: str
    account_kind: Kind
    anchor: date
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    contract: ContractOverrides | None = None
    #: a contract change scheduled for ``pending_contract_at`` (``contract`` applies until then)
    pending_contract: ContractOverrides | None = None
    pending_contract_at: datetime | None = None

    def contract_at(self, t: datetime) -> ContractOverrides | None:
        if self.pending_contract_at is not None and t >= self.pending_contract_at:
            return self.pending_contract
        return self.contract


def _same(v: SubscriptionVersion | None, ident: Identity, terms: Terms, t: datetime) -> bool:
    if v is None:
        return False
    mine: dict[str, Any] = {
        "tier": terms.tier,
        "interval": terms.interval,
        "status": terms.status,
        "anchor": ident.anchor,
        "account_kind": ident.account_kind,
        "stripe_customer_id": ident.stripe_customer_id,
        "stripe_subscription_id": ident.stripe_subscription_id,
        "contract": ident.contract_at(t),
    }
    return all(getattr(v, k) == val for k, val in mine.items())


def versions_to_write(
    history: SubscriptionHistory, ident: Identity, plan: Plan, now: datetime
) -> list[SubscriptionVersion]:
    """The versions that make ``history`` agree with ``plan`` from ``now`` on (empty: it already does).

    Version numbers continue above every known one and are at least the epoch milliseconds of ``now``,
    like ``meterline subscriptions put``, so versions from both never collide."""
    versions = list(history.versions)
    top = max((v.version for v in versions), default=0)
    next_no = max(top + 1, epoch_ms(now))
    contract_change = (
        [ident.pending_contract_at] if ident.pending_contract_at and ident.pending_contract_at > now else []
    )
    points = sorted(
        {now, *plan.scheduled(now), *contract_change, *(v.effective_from for v in versions if v.effective_from > now)}
    )
    written: list[SubscriptionVersion] = []
    for t in points:
        terms = plan.terms_at(t)
        current = SubscriptionHistory(ident.account_id, [*versions, *written]).at(t)
        if _same(current, ident, terms, t):
            continue
        written.append(
            SubscriptionVersion(
                account_id=ident.account_id,
                account_kind=ident.account_kind,
                tier=terms.tier,
                status=terms.status,
                interval=terms.interval,
                anchor=ident.anchor,
                effective_from=t,
                version=next_no,
                stripe_customer_id=ident.stripe_customer_id,
                stripe_subscription_id=ident.stripe_subscription_id,
                contract=ident.contract_at(t),
            )
        )
        next_no += 1
    return written
