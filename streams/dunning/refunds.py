"""Paying a credit note's refund back through Stripe Refunds (stripe-mock locally), for the API, the CLI and the
collection loop (``streams.store.refunds``)."""

from __future__ import annotations

from typing import Any

import stripe

from streams.store.refunds import Refunder, RefundFailed, RefundPaid, RefundRequest

#: A credit note's reason as Stripe's refund reason (Stripe knows no order_change or product_unsatisfactory).
STRIPE_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}


def _id(value: Any) -> str | None:
    """An expandable field's id: the id string, or an expanded object's ``id``."""
    if isinstance(value, str) and value:
        return value
    found = getattr(value, "id", None) if value is not None else None
    return found if isinstance(found, str) and found else None


def _paid_by(client: stripe.StripeClient, stripe_invoice_id: str) -> dict[str, str] | None:
    """What paid the Stripe invoice: ``{"payment_intent": pi}`` or ``{"charge": ch}`` (its invoice payments)."""
    payments = client.v1.invoice_payments.list(
        {"invoice": stripe_invoice_id, "status": "paid", "expand": ["data.payment.payment_intent"]}
    )
    for p in payments.data:
        payment = p.payment
        if payment is None:
            continue
        for kind in ("payment_intent", "charge"):
            found = _id(getattr(payment, kind, None))
            if found is not None:
                return {kind: found}
    return None


def stripe_refunder(client: stripe.StripeClient) -> Refunder:
    """Refund ``amount`` of the payment that paid the Stripe invoice, keyed by the credit note's id."""

    def refund(req: RefundRequest) -> RefundPaid:
        try:
            target = _paid_by(client, req.stripe_invoice_id)
            if target is None:
                raise RefundFailed("no_payment_in_stripe")
            params: dict[str, Any] = {
                **target,
                "amount": req.amount,
                "reason": STRIPE_REASONS.get(req.reason, "requested_by_customer"),
                "metadata": {
                    "meterline_credit_note": req.credit_note_number,
                    "meterline_invoice_id": req.invoice_id,
                },
            }
            made = client.v1.refunds.create(params, options={"idempotency_key": req.credit_note_id})  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise RefundFailed(str(exc.code or type(exc).__name__)) from exc
        if made.status in ("failed", "canceled"):
            raise RefundFailed(str(made.failure_reason or made.status))
        return RefundPaid(made.id, next(iter(target.values())))

    return refund
