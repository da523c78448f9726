"""The one way to build a Stripe client: with the library's own retries off, because every caller
retries 429, 5xx and connection errors itself with idempotency keys (``sinks.stripe.calls``)."""

from __future__ import annotations

import stripe


def stripe_client(api_key: str, api_base: str) -> stripe.StripeClient:
    """A client for ``api_base`` (Stripe or stripe-mock) that retries nothing by itself."""
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=0)
