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
from rating.receivables import TransitionError
from sinks.stripe.subscriptions import ACCOUNT_METADATA
from streams.api.errors import ApiError
from streams.api.limits import check_failures, client_address, count_failure
from streams.api.models import WebhookResult
from streams.api.routing import Call, Endpoint
from streams.notify.stripe_events import payment_event
from streams.store import audit, receivables
from streams.store import subscription_store as store
from streams.store.models import CreditNoteRow, InvoiceReceivableRow, WebhookEvent

log = logging.getLogger(__name__)
FAILED = frozenset({"invoice.payment_failed"})
PAID = frozenset({"invoice.paid", "invoice.payment_succeeded"})
ACTION_REQUIRED = frozenset({"invoice.payment_action_required"})
REFUNDED = "charge.refunded"
RECEIVABLE_EVENTS = FAILED | PAID | ACTION_REQUIRED | {"invoice.voided", "invoice.marked_uncollectible", REFUNDED}
# Stripe's refund reasons as credit note reasons (a refund the customer asked for changes the order).
REFUND_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}
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
    obj = (doc.get("data") or {}).get("object") or {}
    invoice = _apply_receivable(call, s, kind, obj, created) if isinstance(obj, dict) else None
    outcome, sub_id = _apply_subscription(call, s, kind, doc, created, now)
    return ("applied" if invoice == "applied" else invoice or outcome), sub_id


def _refund(s: Any, inv_id: str, charge: dict[str, Any], created: datetime) -> CreditNoteRow | None:
    """``charge.refunded``: what the charge's refunds add (``amount_refunded`` is their total) becomes a credit
    note, refunded from what was paid (docs/invoices.md, "Credit notes"); None when nothing was added."""
    total, charge_id = charge.get("amount_refunded"), charge.get("id")
    if type(total) is not int or not isinstance(charge_id, str):
        return None
    refunds = (charge.get("refunds") or {}).get("data") if isinstance(charge.get("refunds"), dict) else None
    latest = refunds[0] if isinstance(refunds, list) and refunds and isinstance(refunds[0], dict) else {}
    reason = REFUND_REASONS.get(str(latest.get("reason")), "order_change")
    return receivables.stripe_refund(s, inv_id, charge_id, total, reason, created)


def _apply_receivable(call: Call, s: Any, kind: str, obj: dict[str, Any], created: datetime) -> str | None:
    """An invoice event on an invoice settlement pushed (``metadata.meterline_invoice_id``) moves its receivable
    and keeps the attempt (docs/analytics.md, "Receivables"); None when the event is about no invoice of ours.
    The Stripe customer must belong to the invoice's account (issue 13), else nothing changes."""
    meta = obj.get("metadata")
    inv_id = meta.get("meterline_invoice_id") if isinstance(meta, dict) else None
    if kind == REFUNDED and inv_id is None and isinstance(obj.get("invoice"), str):
        inv_id = receivables.paid_in_stripe(s, obj["invoice"])  # a charge names the Stripe invoice it paid
    if kind not in RECEIVABLE_EVENTS or not isinstance(inv_id, str):
        return None
    row = s.get(InvoiceReceivableRow, inv_id)
    if row is None:
        return "ignored:unknown_invoice"
    customer = obj.get("customer")
    if not isinstance(customer, str) or store.customer_account(s, customer) != row.account_id:
        call.ctx.metrics.webhook_account_mismatch.inc()
        log.warning("stripe webhook: %s on %s from a customer not of %s: ignored", kind, inv_id, row.account_id)
        return "ignored:account_mismatch"
    ref = obj.get("id") if isinstance(obj.get("id"), str) else None
    before, note = row.status, None
    try:
        if kind in PAID:
            owed = receivables.state(row).amount_remaining
            if owed <= 0:
                return "ignored:no_change"
            receivables.record_payment(
                s, inv_id, owed, "card", created, source="stripe", recorded_by="stripe", reference=ref
            )
        elif kind in FAILED | ACTION_REQUIRED:
            receivables.record_payment(
                s,
                inv_id,
                max(receivables.state(row).amount_remaining, 1),
                "card",
                created,
                source="stripe",
                recorded_by="stripe",
                reference=ref,
                failure_reason="payment_failed" if kind in FAILED else "requires_action",
            )
        elif kind == REFUNDED:
            note = _refund(s, inv_id, obj, created)
            if note is None:
                return "ignored:no_change"
        elif kind == "invoice.voided":
            receivables.void(s, inv_id, created)
        else:
            receivables.mark_uncollectible(s, inv_id, created)
    except TransitionError:
        return f"ignored:invoice_{row.status}"
    s.flush()
    source = audit.Origin("stripe", client_address(call.request), call.request.headers.get("user-agent"))
    audit.record_invoice(s, row, before, source, call.ctx.clock())
    if note is not None:
        audit.record_credit_note(s, note, source, call.ctx.clock())
    return "applied"


def _apply_subscription(
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
        description="Authenticated by the Stripe-Signature header, not a bearer token. Idempotent by event id. "
        "On an invoice settlement pushed (metadata meterline_invoice_id), invoice.paid, invoice.payment_failed, "
        "invoice.payment_action_required, invoice.voided and invoice.marked_uncollectible also move its "
        "receivable and keep the attempt, when the event's customer is the invoice account's; charge.refunded on "
        "the charge that paid it is a credit note of what its refunds add (amount_refunded is their total).",
    ),
]
