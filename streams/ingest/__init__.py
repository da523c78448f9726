"""Ingest: decode and dedupe ``usage.events`` into ``usage.accepted`` (the step and its agent), the
ingest service every HTTP front end calls, the ``/v1/events`` front end with its API keys and OpenAPI
document, and the server that runs it."""
