"""The dunning loop's retry charges an issued invoice through its Stripe mirror (stripe-mock of the stack)."""

from __future__ import annotations

import stripe

from streams.dunning.charge import stripe_charger
from streams.settings import Settings
from streams.settlement.job import stripe_client


def test_a_retry_pays_the_stripe_mirror_and_an_unpushed_invoice_is_not_charged(stack: Settings) -> None:
    client = stripe_client(stack)
    customer = client.v1.customers.create(params={"email": "ap@acme.test"})
    mirror = client.v1.invoices.create(params={"customer": customer.id})
    charge = stripe_charger(client, {"in_acme_2026-06": mirror.id}.get)
    assert charge("in_acme_2026-06", "20260701T090000-1") is None
    assert charge("in_never_pushed", "20260701T090000-1") == "not_in_stripe"


def test_stripe_unreachable_raises_so_the_step_is_tried_again() -> None:
    client = stripe.StripeClient("sk_test_123", base_addresses={"api": "http://127.0.0.1:9"}, max_network_retries=0)
    charge = stripe_charger(client, lambda invoice_id: "in_123")
    try:
        charge("in_acme", "x")
    except stripe.APIConnectionError:
        return
    raise AssertionError("an unreachable Stripe must not read as a declined card")
