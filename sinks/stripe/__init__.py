"""Stripe: the client, the retrying call wrapper, meter events, the catalog sync (products and prices)
and subscriptions."""
