"""The billing API (issue 6): subscriptions, organizations and members, entitlements, usage, invoices
and Stripe webhooks over the billing store, the live quota state and settled ClickHouse data.

``app.create_app`` is the composition; ``meterline api serve`` runs it under uvicorn.
"""
