"""Notices and webhook events from Stripe's invoice payment webhooks (docs/notifications.md): called by the
webhook route in its transaction, once the event is known to be this account's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.store.models import Organization

# Stripe's zero-decimal currencies (amounts are whole units); the others have two decimals here.
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"})


def amount_text(minor: object, currency: str) -> str | None:
    if not isinstance(minor, int) or isinstance(minor, bool):
        return None
    return str(minor) if currency in ZERO_DECIMAL else str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def payment_event(
    s: Session, stripe_type: str, stripe_event_id: str, account_id: str, invoice: dict[str, Any], now: datetime
) -> None:
    """For ``invoice.paid`` / ``invoice.payment_succeeded`` / ``invoice.payment_failed``: one email notice and
    one webhook event per Stripe event (keyed by its id, so a redelivery adds nothing)."""
    failed = stripe_type == "invoice.payment_failed"
    currency = str(invoice.get("currency") or "").lower()
    retry = invoice.get("next_payment_attempt")
    context: dict[str, Any] = {
        "invoice_id": str(invoice.get("id") or ""),
        "currency": currency.upper(),
        "amount": amount_text(invoice.get("amount_due" if failed else "amount_paid"), currency),
    }
    if failed:
        context["next_retry"] = (
            datetime.fromtimestamp(retry, UTC).date().isoformat() if isinstance(retry, int) else None
        )
    kind = "payment_failed" if failed else "payment_succeeded"
    enqueue_notice(s, kind, account_id, f"{kind}:{stripe_event_id}", context, now)
    if s.get(Organization, account_id) is not None:
        event_type = "invoice.payment_failed" if failed else "invoice.paid"
        enqueue_event(s, account_id, event_type, f"msg_{stripe_event_id}", {"account_id": account_id, **context}, now)
