"""``POST /api/billing/webhooks/stripe``: dunning from Stripe's invoice events.

The signature is verified (``Stripe-Signature``, secret ``METERLINE_STRIPE_WEBHOOK_SECRET``) before
anything is read. Each event id is handled once: it is recorded in the same transaction as the change
it causes, so a replayed delivery changes nothing. Events older than the last payment event applied to
the subscription (out of order) are recorded and ignored, and so is an event whose invoice names another
account (its metadata, or a customer that belongs to another account) than the subscription it would
change (counted in ``meterline_api_webhook_account_mismatch``; README, "The billing API").
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError

from sinks.stripe_subscriptions import ACCOUNT_METADATA
from streams.api import lifecycle
from streams.api.errors import ApiError
from streams.api.routing import Call, Endpoint
from streams.api.schemas import WebhookResult
from streams.store import subscription_store as store
from streams.store.models import WebhookEvent

log = logging.getLogger(__name__)
FAILED = frozenset({"invoice.payment_failed"})
PAID = frozenset({"invoice.paid", "invoice.payment_succeeded"})


def _invoice_refs(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(subscription, customer) of an invoice object, in the old and the new (``parent``) API shapes."""
    sub = obj.get("subscription")
    parent = obj.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if not sub and isinstance(details, dict):
        sub = details.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return (sub if isinstance(sub, str) else None), (customer if isinstance(customer, str) else None)


def _named_accounts(obj: dict[str, Any]) -> set[str]:
    """The accounts an invoice object's metadata names: its own, its subscription's (``parent`` and the
    older ``subscription_details``), and those of an expanded customer or subscription."""
    metas: list[Any] = [obj.get("metadata")]
    parent = obj.get("parent")
    for holder in (parent if isinstance(parent, dict) else {}, obj):
        details = holder.get("subscription_details")
        if isinstance(details, dict):
            metas.append(details.get("metadata"))
    for ref in ("customer", "subscription"):
        expanded = obj.get(ref)
        if isinstance(expanded, dict):
            metas.append(expanded.get("metadata"))
    named = {m.get(ACCOUNT_METADATA) for m in metas if isinstance(m, dict)}
    return {a for a in named if isinstance(a, str) and a}


def stripe_webhook(call: Call) -> WebhookResult:
    secret = call.ctx.webhook_secret
    if not secret:
        raise ApiError(503, "webhooks_disabled", "METERLINE_STRIPE_WEBHOOK_SECRET is not set")
    signature = call.request.headers.get("stripe-signature")
    if not signature:
        raise ApiError(400, "missing_signature", "the Stripe-Signature header is missing")
    try:
        event = stripe.Webhook.construct_event(call.raw, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise ApiError(400, "invalid_signature", "the Stripe-Signature does not match the body") from exc
    except ValueError as exc:
        raise ApiError(400, "invalid_payload", f"the body is not a Stripe event: {exc}") from exc
    doc = event.to_dict()
    event_id, kind, created_s = doc.get("id"), doc.get("type"), doc.get("created")
    if not isinstance(event_id, str) or not isinstance(kind, str) or not isinstance(created_s, int):
        raise ApiError(400, "invalid_payload", "an event needs a string id and type and an integer created")
    created = datetime.fromtimestamp(created_s, UTC)
    now = call.ctx.clock()
    try:
        with call.ctx.sessions.begin() as s:
            seen = s.get(WebhookEvent, event_id)
            if seen is not None:
                return WebhookResult(received=True, duplicate=True, outcome=seen.outcome)
            outcome, sub_id = _apply(call, s, kind, doc, created, now)
            s.add(
                WebhookEvent(
                    id=event_id,
                    type=kind,
                    created=created,
                    outcome=outcome,
                    subscription_id=sub_id,
                    received_at=now,
                    applied=outcome == "applied",
                )
            )
    except IntegrityError:  # the same event delivered twice at once: the other delivery handled it
        return WebhookResult(received=True, duplicate=True, outcome="concurrent_delivery")
    if outcome == "applied":
        call.ctx.notify_outbox()
    return WebhookResult(received=True, duplicate=False, outcome=outcome)


def _apply(
    call: Call, s: Any, kind: str, doc: dict[str, Any], created: datetime, now: datetime
) -> tuple[str, str | None]:
    if kind not in FAILED | PAID:
        return "ignored:unhandled_type", None
    obj = (doc.get("data") or {}).get("object") or {}
    sub_ref, customer = _invoice_refs(obj if isinstance(obj, dict) else {})
    row = store.by_stripe(s, sub_ref, customer)
    if row is None:
        return "ignored:unknown_subscription", None
    # Another tenant's object must never change this subscription (issue 13): the metadata the mirror
    # writes, and the customer's owner, must both be this subscription's account.
    owner = store.customer_account(s, customer) if customer else None
    named = _named_accounts(obj if isinstance(obj, dict) else {})
    if (named and named != {row.account_id}) or (owner is not None and owner != row.account_id):
        call.ctx.metrics.webhook_account_mismatch.inc()
        log.warning("stripe webhook: %s names account(s) %s, not %s: ignored", kind, sorted(named), row.account_id)
        return "ignored:account_mismatch", row.id
    row = store.get(s, row.id, for_update=True)
    assert row is not None
    if row.payment_event_at is not None and created < row.payment_event_at:
        return "ignored:out_of_order", row.id
    row.payment_event_at = created
    plan = store.plan_of(row)
    new = (
        lifecycle.payment_failed(plan, now, call.ctx.grace)
        if kind in FAILED
        else lifecycle.payment_recovered(plan, now)
    )
    if new is None:
        return "ignored:no_change", row.id
    store.save_plan(s, row, new, now, "payment_failed" if kind in FAILED else "payment_recovered")
    return "applied", row.id


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/billing/webhooks/stripe",
        stripe_webhook,
        "Stripe webhook: invoice.payment_failed → past_due (then unpaid after the grace period), invoice.paid → active",
        "webhooks",
        WebhookResult,
        public=True,
        raw_body=True,
        errors=(400, 503),
        description="Authenticated by the Stripe-Signature header, not a bearer token. Idempotent by event id.",
    ),
]
