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
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import stripe
from sqlalchemy.exc import IntegrityError

from rating import lifecycle
from sinks.stripe.subscriptions import ACCOUNT_METADATA
from streams.api.errors import ApiError
from streams.api.limits import check_failures, count_failure
from streams.api.models import WebhookResult
from streams.api.routing import Call, Endpoint
from streams.notify.stripe_events import payment_event
from streams.store import subscription_store as store
from streams.store.models import WebhookEvent

log = logging.getLogger(__name__)
FAILED = frozenset({"invoice.payment_failed"})
PAID = frozenset({"invoice.paid", "invoice.payment_succeeded"})
#: How far a signature's timestamp may be from now, either way (Stripe's default tolerance).
TOLERANCE_SECONDS = 300
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,128}")


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
    return (sub if _stripe_id(sub) else None), (customer if _stripe_id(customer) else None)


def _stripe_id(value: object) -> bool:
    """A Stripe id (``sub_…``, ``cus_…``) as Stripe makes them: anything else (NUL, which PostgreSQL refuses,
    or 10 KB of text) is never looked up."""
    return isinstance(value, str) and STRIPE_ID.fullmatch(value) is not None


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
    doc, created = _verified_event(call, signature, secret)
    event_id, kind = doc["id"], doc["type"]
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


def _verified_event(call: Call, signature: str, secret: str) -> tuple[dict[str, Any], datetime]:
    """The signed event and its creation time; 400 for a bad signature, a timestamp outside the tolerance (past
    or future), or a body that is not an event object (any JSON: nested 10k deep, an array, ``data`` a string,
    ``created`` beyond any date) in the API's error shape. Bad signatures count against the sender's address."""
    now_s = call.ctx.clock().timestamp()
    check_failures(call.ctx.limits, call.request, now_s)
    try:
        payload = call.raw.decode("utf-8")
        stripe.WebhookSignature.verify_header(payload, signature, secret, TOLERANCE_SECONDS)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_payload", "the body is not UTF-8") from exc
    except stripe.SignatureVerificationError as exc:
        count_failure(call.ctx.limits, call.request, now_s)
        raise ApiError(400, "invalid_signature", "the Stripe-Signature does not match the body") from exc
    # Stripe's check refuses old timestamps only; one ahead of the clock would stay replayable for longer.
    # The wall clock, as Stripe's own check uses.
    stamps = [p.partition("=")[2] for p in signature.split(",") if p.strip().startswith("t=")]
    if not stamps or not stamps[0].strip().isdigit() or int(stamps[0]) > time.time() + TOLERANCE_SECONDS:
        raise ApiError(400, "invalid_signature", "the Stripe-Signature timestamp is in the future")
    try:
        doc = orjson.loads(call.raw)  # at most 1,024 levels deep: deeper is a decode error, not a crash
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_payload", "the body is not a JSON event (malformed or nested too deeply)") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "invalid_payload", "the body must be a JSON event object")
    event_id, kind, created_s, data = doc.get("id"), doc.get("type"), doc.get("created"), doc.get("data")
    if not isinstance(event_id, str) or not isinstance(kind, str) or type(created_s) is not int:
        raise ApiError(400, "invalid_payload", "an event needs a string id and type and an integer created")
    if not STRIPE_ID.fullmatch(event_id) or not EVENT_TYPE.fullmatch(kind):  # stored: no NUL, within the columns
        raise ApiError(400, "invalid_payload", "an event's id and type are not Stripe's (evt_..., invoice.paid)")
    if not isinstance(data, dict) or not isinstance(data.get("object", {}), dict):
        raise ApiError(400, "invalid_payload", "an event's data must be an object, and data.object an object")
    try:
        created = datetime.fromtimestamp(created_s, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ApiError(400, "invalid_payload", "the event's created is not a time") from exc
    return doc, created


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
    if isinstance(obj, dict):  # told to the account and its systems whatever the state does (docs/notifications.md)
        payment_event(s, kind, str(doc["id"]), row.account_id, obj, now)
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
