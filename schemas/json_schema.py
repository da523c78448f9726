"""The published JSON Schema: one usage event, or the batch envelope carrying up to 10,000 of them."""

from __future__ import annotations

from typing import Any

from schemas.events import UsageEvent


def usage_event_schema() -> dict[str, Any]:
    event = UsageEvent.model_json_schema(mode="validation")
    defs = event.pop("$defs", {})
    # pydantic describes the timestamp as a date-time string; the contract also takes epoch milliseconds.
    event["properties"]["timestamp"] = {
        "description": event["properties"]["timestamp"].get("description", ""),
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 946684800000}],
    }
    defs["UsageEvent"] = event
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://meterline.dev/schemas/usage-event.json",
        "title": "Meterline usage record",
        "description": "One Kafka record (or HTTP body): a single usage event, or a batch envelope.",
        "oneOf": [
            {"$ref": "#/$defs/UsageEvent"},
            {
                "type": "object",
                "title": "Batch",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 10000,
                        "items": {"$ref": "#/$defs/UsageEvent"},
                    }
                },
            },
        ],
        "$defs": defs,
    }
