"""Subscriptions in the store: plans in, versions and outbox rows out, in the caller's transaction.

``save_plan`` is the only way a subscription changes: it writes the plan, the versions that make the
account's history agree with it (``rating.lifecycle.versions_to_write``) and one outbox row per
version, all in the same transaction, so a crash before the publish loses nothing (the relay sends
what the outbox holds) and a crash before the commit leaves no trace. A change made here (not one that
Stripe itself reported, like a failed payment) also writes a Stripe outbox row, which
``streams.store.relays.stripe_mirror`` sends to Stripe.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rating.catalog.model import CatalogVersion, ContractOverrides
from rating.lifecycle import Identity, Plan, versions_to_write
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from sinks.stripe.subscriptions import MirrorChange
from streams.notify.outbox import enqueue_event
from streams.store.models import (
    OutboxRow,
    StripeCustomer,
    StripeOutboxRow,
    Subscription,
    SubscriptionVersionRow,
)
from streams.topics import SUBSCRIPTIONS


def plan_of(row: Subscription) -> Plan:
    return Plan(
        tier=row.tier,
        interval=row.interval,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        trial_end=row.trial_end,
        pending_tier=row.pending_tier,
        pending_interval=row.pending_interval,  # type: ignore[arg-type]
        pending_at=row.pending_at,
        cancel_at=row.cancel_at,
        grace_until=row.grace_until,
    )


def identity_of(row: Subscription) -> Identity:
    return Identity(
        account_id=row.account_id,
        account_kind=row.account_kind,  # type: ignore[arg-type]
        anchor=row.anchor,
        stripe_customer_id=row.stripe_customer_id,
        stripe_subscription_id=row.stripe_subscription_id,
        contract=_contract(row.contract),
        pending_contract=_contract(row.pending_contract),
        pending_contract_at=row.pending_contract_at,
    )


def _contract(record: dict[str, Any] | None) -> ContractOverrides | None:
    return ContractOverrides.model_validate(record) if record else None


def contract_at(row: Subscription, t: datetime) -> ContractOverrides | None:
    """The contract of the subscription at ``t`` (a scheduled change counts from its time on)."""
    return identity_of(row).contract_at(t)


def _promote_contract(row: Subscription, now: datetime) -> None:
    """A scheduled contract change whose time has come becomes the current contract."""
    if row.pending_contract_at is not None and row.pending_contract_at <= now:
        row.contract, row.pending_contract, row.pending_contract_at = row.pending_contract, None, None


def versions(s: Session, account_id: str) -> list[SubscriptionVersion]:
    rows = s.scalars(
        select(SubscriptionVersionRow.record)
        .where(SubscriptionVersionRow.account_id == account_id)
        .order_by(SubscriptionVersionRow.effective_from, SubscriptionVersionRow.version)
    )
    return [SubscriptionVersion.model_validate(r) for r in rows]


def history(s: Session, account_id: str) -> SubscriptionHistory:
    return SubscriptionHistory(account_id, versions(s, account_id))


def get(s: Session, subscription_id: str, *, for_update: bool = False) -> Subscription | None:
    q = select(Subscription).where(Subscription.id == subscription_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)


def latest_for_account(s: Session, account_id: str) -> Subscription | None:
    return s.scalar(
        select(Subscription).where(Subscription.account_id == account_id).order_by(Subscription.created_at.desc())
    )


def for_account(s: Session, account_id: str) -> list[Subscription]:
    """Every subscription of one billing account, oldest first (a canceled one stays, a new one follows it)."""
    return list(
        s.scalars(select(Subscription).where(Subscription.account_id == account_id).order_by(Subscription.created_at))
    )


def for_organization(s: Session, org_id: str) -> list[Subscription]:
    return list(
        s.scalars(select(Subscription).where(Subscription.organization_id == org_id).order_by(Subscription.created_at))
    )


class StripeOwnerConflict(Exception):
    """A Stripe id is already another account's (or another subscription's): it is not linked."""


def customer_account(s: Session, customer: str) -> str | None:
    """The account a Stripe customer belongs to (None: not known here)."""
    return s.scalar(select(StripeCustomer.account_id).where(StripeCustomer.stripe_customer_id == customer))


def by_stripe(s: Session, subscription: str | None, customer: str | None) -> Subscription | None:
    """The subscription a Stripe object names: by its Stripe subscription id (unique), else the newest
    subscription of the account the customer belongs to (never a row of another account that happens to
    carry the same customer id)."""
    if subscription:
        row = s.scalar(select(Subscription).where(Subscription.stripe_subscription_id == subscription))
        if row is not None:
            return row
    if customer:
        account = customer_account(s, customer)
        if account is not None:
            return latest_for_account(s, account)
    return None


def open_subscription(s: Session, account_id: str) -> Subscription | None:
    """The account's subscription holding the open slot (locked: a concurrent create waits for it)."""
    return s.scalar(select(Subscription).where(Subscription.open_account_id == account_id).with_for_update())


STRIPE_LINKED = "stripe_linked"  # the reason of the versions that record the ids the mirror got back
#: Changes not mirrored to Stripe: Stripe reported them (dunning webhooks), or they are the mirror's own.
NOT_MIRRORED = frozenset({"payment_failed", "payment_recovered", "invoice_overdue", STRIPE_LINKED})


def account_stripe_customer(s: Session, account_id: str) -> str | None:
    """The account's Stripe customer (a new subscription of the same account keeps it): the first one
    recorded as the account's, never a customer another account owns."""
    return s.scalar(
        select(StripeCustomer.stripe_customer_id)
        .where(StripeCustomer.account_id == account_id)
        .order_by(StripeCustomer.created_at, StripeCustomer.stripe_customer_id)
        .limit(1)
    )


def mirror_change(row: Subscription, plan: Plan, now: datetime, reason: str, change_no: int) -> MirrorChange:
    """What the Stripe mirror needs of a change: the plan carried out to ``now``, and what it was."""
    current = plan.at(now)
    return MirrorChange(
        subscription_id=row.id,
        account_id=row.account_id,
        account_kind=row.account_kind,
        change_no=change_no,
        reason=reason,
        at=now,
        tier=current.tier,
        interval=current.interval,
        status=current.status,
        period_end=period_containing(row.anchor, now).end,
        trial_end=current.trial_end,
        cancel_at=current.cancel_at,
        pending_tier=current.pending_tier,
        pending_interval=current.pending_interval,
        pending_at=current.pending_at,
        contract=row.contract,
    )


def _write_plan(row: Subscription, plan: Plan) -> None:
    row.tier, row.interval, row.status = plan.tier, plan.interval, plan.status
    row.trial_end, row.cancel_at, row.grace_until = plan.trial_end, plan.cancel_at, plan.grace_until
    row.pending_tier, row.pending_interval, row.pending_at = plan.pending_tier, plan.pending_interval, plan.pending_at


def scheduled_reason(plan: Plan, at: datetime, now: datetime, reason: str) -> str:
    """The reason a version at ``at`` carries: the operation's own at ``now``, the scheduled event's later."""
    if at <= now:
        return reason
    named = {
        plan.grace_until: "dunning_exhausted",
        plan.cancel_at: "canceled_at_period_end",
        plan.pending_at: "scheduled_change",
        plan.trial_end: "trial_ended",
    }
    return named.get(at, reason)


def save_plan(s: Session, row: Subscription, plan: Plan, now: datetime, reason: str) -> list[SubscriptionVersion]:
    """Write ``plan`` and the versions (plus their outbox rows) it needs; returns those versions."""
    _promote_contract(row, now)
    written = versions_to_write(history(s, row.account_id), identity_of(row), plan, now)
    _write_plan(row, plan)
    row.updated_at = now
    told = [v.model_copy(update={"reason": scheduled_reason(plan, v.effective_from, now, reason)}) for v in written]
    for v in told:
        record = v.model_dump(mode="json", exclude_none=True)
        s.add(
            SubscriptionVersionRow(
                subscription_id=row.id,
                account_id=v.account_id,
                version=v.version,
                effective_from=v.effective_from,
                record=record,
                reason=reason,
                created_at=now,
            )
        )
        s.add(OutboxRow(topic=SUBSCRIPTIONS, key=v.account_id, payload=record, created_at=now, attempts=0))
    if written:
        _tell(s, row, told, now)
    if written and reason not in NOT_MIRRORED:
        change = mirror_change(row, plan, now, reason, written[-1].version)
        s.add(
            StripeOutboxRow(
                subscription_id=row.id,
                account_id=row.account_id,
                change_no=change.change_no,
                reason=reason,
                payload=change.to_payload(),
                created_at=now,
                attempts=0,
            )
        )
    s.flush()
    return written


def _tell(s: Session, row: Subscription, written: list[SubscriptionVersion], now: datetime) -> None:
    """One ``subscription.updated`` webhook event per change (docs/notifications.md): the first version written
    and what it scheduled after it, to the account's organization's endpoints."""
    first, *later = written

    def brief(v: SubscriptionVersion) -> dict[str, object]:
        return {
            "tier": v.tier,
            "status": v.status,
            "interval": v.interval,
            "effective_from": v.effective_from.isoformat(),
            "version": v.version,
            "reason": v.reason,
        }

    data = {
        "subscription_id": row.id,
        "account_id": row.account_id,
        **brief(first),
        "scheduled": [brief(v) for v in later],
    }
    enqueue_event(s, row.account_id, "subscription.updated", f"msg_sub_{row.id}_{first.version}", data, now)


def claim_customer(s: Session, customer: str, account_id: str, now: datetime) -> None:
    """Record that ``customer`` is ``account_id``'s; raises ``StripeOwnerConflict`` when it is another's."""
    owner = customer_account(s, customer)
    if owner is None:
        s.add(StripeCustomer(stripe_customer_id=customer, account_id=account_id, created_at=now))
        s.flush()
    elif owner != account_id:
        raise StripeOwnerConflict(f"the Stripe customer {customer} belongs to another account")


def link_stripe(s: Session, row: Subscription, customer: str, subscription: str | None, now: datetime) -> bool:
    """Store the Stripe ids the mirror got back (or an operator linked), and versions that carry them
    (metering and invoicing find the customer in the versions); returns whether anything changed. Raises
    ``StripeOwnerConflict`` when the customer is another account's or the Stripe subscription is stored on
    another subscription."""
    if (row.stripe_customer_id, row.stripe_subscription_id) == (customer, subscription or row.stripe_subscription_id):
        return False
    claim_customer(s, customer, row.account_id, now)
    if subscription and subscription != row.stripe_subscription_id:
        other = s.scalar(select(Subscription.id).where(Subscription.stripe_subscription_id == subscription))
        if other is not None:
            raise StripeOwnerConflict(f"the Stripe subscription {subscription} is linked to another subscription")
    row.stripe_customer_id = customer
    row.stripe_subscription_id = subscription or row.stripe_subscription_id
    save_plan(s, row, plan_of(row), now, STRIPE_LINKED)
    return True


def set_contract(
    s: Session, row: Subscription, contract: ContractOverrides | None, now: datetime, effective_from: datetime | None
) -> list[SubscriptionVersion]:
    """Put ``contract`` on the subscription from ``effective_from`` (default and at the earliest: ``now``) on:
    the row keeps it (every later change through the API carries it, ``identity_of``) and new versions carry
    it from that time; earlier usage keeps the versions it was rated under (docs/rating.md, "Contracts"). A
    later time replaces any change scheduled before. A contract in effect now whose term ends without
    renewal (``renewal: end``) schedules its own clearing at ``ends_on``."""
    record = contract.model_dump(mode="json", exclude_none=True) if contract is not None else None
    _promote_contract(row, now)
    if effective_from is None or effective_from <= now:
        row.contract, row.pending_contract, row.pending_contract_at = record, None, None
        term = contract.term if contract is not None else None
        if term is not None and term.renewal == "end":
            end = datetime.combine(term.ends_on, time(0), tzinfo=UTC)
            if end > now:
                row.pending_contract_at = end  # with pending_contract None: back to the catalog's tier then
    else:
        row.pending_contract, row.pending_contract_at = record, effective_from
    return save_plan(s, row, plan_of(row), now, "contract")


def unknown_to_catalog(contract: ContractOverrides, catalog: CatalogVersion) -> list[str]:
    """The metrics and add-ons a contract names that the catalog does not know (a typo would price nothing)."""
    metrics = {m for tier in catalog.tiers.values() for m in tier.metrics}
    return sorted(set(contract.metrics) - metrics) + sorted(set(contract.addons) - set(catalog.addons))
