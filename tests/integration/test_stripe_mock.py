"""stripe-mock is real HTTP: a call through the `stripe` package reaches it and is validated."""

from __future__ import annotations

import pytest
import stripe

from streams.settings import Settings

pytestmark = pytest.mark.integration


def _client(s: Settings) -> stripe.StripeClient:
    return stripe.StripeClient(s.stripe_api_key.get_secret_value(), base_addresses={"api": s.resolved_stripe_api_base})


def test_create_customer_through_the_stripe_package(stack: Settings) -> None:
    customer = _client(stack).v1.customers.create(params={"email": "finance@example.com", "name": "Acme"})
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"


def test_stripe_mock_validates_requests_against_the_spec(stack: Settings) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        _client(stack).v1.customers.create(params={"no_such_parameter": "x"})  # type: ignore[typeddict-unknown-key]
