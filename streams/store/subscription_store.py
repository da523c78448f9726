"""Subscriptions in the store: plans in, versions and outbox rows out, in the caller's transaction.

``save_plan`` is the only way a subscription changes: it writes the plan, the versions that make the
account's history agree with it (``streams.api.lifecycle.versions_to_write``) and one outbox row per
version, all in the same transaction, so a crash before the publish loses nothing (the relay sends
what the outbox holds) and a crash before the commit leaves no trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rating.catalog.model import ContractOverrides
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.api.lifecycle import Identity, Plan, versions_to_write
from streams.store.models import OutboxRow, Subscription, SubscriptionVersionRow
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
        contract=ContractOverrides.model_validate(row.contract) if row.contract else None,
    )


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


def for_organization(s: Session, org_id: str) -> list[Subscription]:
    return list(
        s.scalars(select(Subscription).where(Subscription.organization_id == org_id).order_by(Subscription.created_at))
    )


def by_stripe(s: Session, subscription: str | None, customer: str | None) -> Subscription | None:
    conds: list[Any] = []
    if subscription:
        conds.append(Subscription.stripe_subscription_id == subscription)
    if customer:
        conds.append(Subscription.stripe_customer_id == customer)
    if not conds:
        return None
    rows = list(s.scalars(select(Subscription).where(or_(*conds)).order_by(Subscription.created_at.desc())))
    exact = [r for r in rows if subscription and r.stripe_subscription_id == subscription]
    if exact:
        return exact[0]
    return rows[0] if rows else None


def _write_plan(row: Subscription, plan: Plan) -> None:
    row.tier, row.interval, row.status = plan.tier, plan.interval, plan.status
    row.trial_end, row.cancel_at, row.grace_until = plan.trial_end, plan.cancel_at, plan.grace_until
    row.pending_tier, row.pending_interval, row.pending_at = plan.pending_tier, plan.pending_interval, plan.pending_at


def save_plan(s: Session, row: Subscription, plan: Plan, now: datetime, reason: str) -> list[SubscriptionVersion]:
    """Write ``plan`` and the versions (plus their outbox rows) it needs; returns those versions."""
    written = versions_to_write(history(s, row.account_id), identity_of(row), plan, now)
    _write_plan(row, plan)
    row.updated_at = now
    for v in written:
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
    s.flush()
    return written
