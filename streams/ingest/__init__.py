"""Ingest: decode and dedupe ``usage.events`` into ``usage.accepted`` (the step and its agent), the
HTTP front end with its API keys and OpenAPI document, and the server that runs it."""
