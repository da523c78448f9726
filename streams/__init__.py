"""Meterline's composition root, one package per stage of the pipeline.

``worker`` (the Faust app and its runtime), ``kafka`` (shared Kafka plumbing), ``ingest`` (usage.events
to usage.accepted, and the HTTP front end), ``live`` (live rating), ``warehouse`` (the ClickHouse sink
agents and their rows),
``subscriptions`` (versions on Kafka), ``settlement`` (settling, invoicing, Stripe reporting,
reconciliation), ``api`` and ``store`` (the billing API and its database), ``cli`` (the command line).
Settings, topics and errors are shared by all of them; so are what both HTTP front ends use (``http_json``:
bodies and the error shape, ``key_format``: API keys, ``rate_limits``: token buckets) and ``pids``.
"""
