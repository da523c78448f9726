"""Why an event was refused: the closed set of reason codes on the dead-letter topic (docs/events.md)."""

from __future__ import annotations

import enum


class RejectReason(enum.StrEnum):
    NOT_JSON = "not_json"
    INVALID_UTF8 = "invalid_utf8"
    NOT_AN_OBJECT = "not_an_object"
    EMPTY_BATCH = "empty_batch"
    TOO_MANY_EVENTS = "too_many_events"
    OVERSIZED_RECORD = "oversized_record"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_METRIC = "unknown_metric"
    NEGATIVE_QUANTITY = "negative_quantity"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_LATE = "too_late"
    INVALID_PROPERTIES = "invalid_properties"
    INVALID_EVENT_ID = "invalid_event_id"
    INVALID_ID = "invalid_id"  # user_id, org_id or source outside the id pattern (schemas/ids.py)
    SOURCE_MISMATCH = "source_mismatch"  # HTTP ingest: an event of another source than the key's
