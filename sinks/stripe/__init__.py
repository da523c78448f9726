"""Stripe: the client, the retrying call wrapper, meter events and meter summaries, invoices, the
catalog sync (products and prices, from the pure ``catalog_spec``) and subscriptions."""
