"""The OpenAPI 3.1 description of the HTTP ingest API (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

_RESULT = {
    "type": "object",
    "required": ["index", "status"],
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "event_id": {"type": ["string", "null"]},
        "status": {"enum": ["accepted", "rejected"]},
        "reason": {"type": "string", "description": "reason code (docs/events.md) when rejected"},
        "detail": {"type": "string"},
    },
}

_OUTCOME = {
    "type": "object",
    "required": ["accepted", "rejected", "results"],
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "results": {"type": "array", "items": _RESULT},
    },
}


def _error_response(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": _ERROR}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Meterline HTTP ingest",
        "version": "1",
        "description": "Send usage events to Meterline. The event schema is schemas/usage_event.schema.json "
        '(see docs/events.md); one event object or {"events": [...]} with up to 1,000 events and 1 MiB.',
    },
    "components": {
        "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "a per-source key"}},
    },
    "security": [{"apiKey": []}],
    "paths": {
        "/v1/events": {
            "post": {
                "summary": "Record one usage event or a batch",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"type": "object", "description": "one usage event"},
                                    {
                                        "type": "object",
                                        "required": ["events"],
                                        "properties": {"events": {"type": "array", "maxItems": 1000, "minItems": 1}},
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "at least one event stored durably; per-event results",
                        "content": {"application/json": {"schema": _OUTCOME}},
                    },
                    "422": {
                        "description": "no event was valid; per-event results with reasons",
                        "content": {"application/json": {"schema": _OUTCOME}},
                    },
                    "400": _error_response("not JSON (or nested too deeply), or not an event / batch"),
                    "401": _error_response("missing, unknown or revoked API key"),
                    "413": _error_response("body over 1 MiB or more than 1,000 events"),
                    "415": _error_response("not application/json"),
                    "429": {
                        **_error_response(
                            "the key's requests a minute are spent, or too many bad keys from this address: "
                            "retry after Retry-After seconds"
                        ),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    },
                    "503": _error_response("Kafka unavailable; nothing stored, retry (Retry-After)"),
                },
            }
        },
        "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}},
    },
}
