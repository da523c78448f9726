"""Writing notices and webhook events into their outboxes, in the caller's transaction (docs/notifications.md).

Both writes are idempotent by a key: the same event enqueued twice (a redelivered webhook, a replayed
alert) leaves one row, so it is sent once; the rows commit or roll back with what caused them, so none is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from streams.store.models import NoticeRow, Organization, WebhookDeliveryRow, WebhookEndpointRow

NOTICE_KINDS = frozenset(
    {
        "invoice_finalized",
        "credit_note_issued",
        "payment_succeeded",
        "payment_failed",
        "dunning_step",
        "invoice_reminder",
        "usage_alert",
        "renewal_upcoming",
        "budget_alert",
        "ai_cap_alert",
        "ai_access_requested",
        "ai_access_decided",
    }
)
EVENT_TYPES = frozenset(
    {
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.overdue",
        "subscription.updated",
        "usage.alert",
        "budget.alert",
    }
)


def billing_recipient(s: Session, account_id: str) -> str | None:
    """Where an account's notices go: its organization's billing email (accounts are organization ids)."""
    org = s.get(Organization, account_id)
    return org.billing_email if org is not None else None


def enqueue_notice(
    s: Session,
    kind: str,
    account_id: str,
    key: str,
    context: dict[str, Any],
    now: datetime,
    *,
    recipient: str | None = None,
) -> bool:
    """Add an email notice unless one with ``key`` exists; returns whether it was added. ``recipient``
    defaults to the account's billing email. ``context`` is JSON (the template's variables)."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if s.scalar(select(NoticeRow.id).where(NoticeRow.key == key)) is not None:
        return False
    for pending in s.new:  # added earlier in this transaction, not flushed yet
        if isinstance(pending, NoticeRow) and pending.key == key:
            return False
    s.add(
        NoticeRow(
            key=key,
            kind=kind,
            account_id=account_id,
            recipient=recipient or billing_recipient(s, account_id),
            context=context,
            created_at=now,
            attempts=0,
        )
    )
    return True


def enqueue_event(
    s: Session, organization_id: str, event_type: str, event_id: str, data: dict[str, Any], now: datetime
) -> int:
    """Add a delivery of a webhook event to each of the organization's endpoints subscribed to its type,
    unless that endpoint has the event already; returns how many were added. ``event_id`` is stable for
    one event (e.g. ``evt_<stripe event id>``): it is the ``webhook-id`` receivers deduplicate by."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    endpoints = s.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.organization_id == organization_id))
    added = 0
    for ep in endpoints:
        if event_type not in ep.event_types:
            continue
        known = s.scalar(
            select(WebhookDeliveryRow.id).where(
                WebhookDeliveryRow.endpoint_id == ep.id, WebhookDeliveryRow.event_id == event_id
            )
        )
        if known is not None:
            continue
        s.add(
            WebhookDeliveryRow(
                endpoint_id=ep.id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                created_at=now,
                attempts=0,
            )
        )
        added += 1
    return added
