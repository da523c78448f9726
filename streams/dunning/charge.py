"""Charging an issued invoice again through its Stripe mirror, for the dunning loop's retries."""

from __future__ import annotations

from collections.abc import Callable

import stripe

from streams.dunning.runner import Charger
from streams.settlement.stripe_invoicing import invoice_identifier


def stripe_charger(client: stripe.StripeClient, stripe_invoice: Callable[[str], str | None]) -> Charger:
    """``stripe_invoice`` maps a Meterline invoice to its Stripe mirror (the warehouse's record of the push).
    A declined card is a failure with Stripe's reason; Stripe unreachable raises, so the step is tried again."""

    def charge(invoice_id: str, attempt: str) -> str | None:
        stripe_id = stripe_invoice(invoice_id)
        if stripe_id is None:
            return "not_in_stripe"
        key = f"{invoice_identifier(invoice_id)}-retry-{attempt}"
        try:
            client.v1.invoices.pay(stripe_id, options={"idempotency_key": key})
        except stripe.CardError as exc:
            return str(exc.code or "card_declined")
        except stripe.InvalidRequestError as exc:
            try:  # paid already (in Stripe, or by a retry whose answer was lost)
                if client.v1.invoices.retrieve(stripe_id).status == "paid":
                    return None
            except stripe.StripeError:
                pass
            return str(exc.code or "invalid_request")
        return None

    return charge
