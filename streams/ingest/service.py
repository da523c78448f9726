"""Ingest as a service: parse a body, validate events for one bound source, forward the good ones to Kafka.

Every HTTP front end (``POST /v1/events`` in ``streams.ingest.http``, ``POST /api/billing/usage/record`` in
``streams.api.routes.record``) and any future caller goes through ``ingest``: the same ``event_id`` and
``source`` defaults, the pipeline's own decoder (docs/events.md), per-event results, and "returned means
Kafka acknowledged" (``NotStored`` otherwise: nothing acknowledged, the caller retries with the same
``event_id``). Authentication, rate limits and the HTTP answer stay with each front end.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import msgspec

from schemas.decode import DecodeLimits, decode_record

log = logging.getLogger(__name__)
MAX_EVENTS = 1000
TOO_DEEP = "the body nests arrays or objects too deeply"
# Decimal for JSON numbers: a quantity must reach the pipeline exactly as sent.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class Forwarder(Protocol):
    """Sends validated event objects to ``usage.events``; returns once Kafka acknowledged them."""

    async def send(self, events: list[dict[str, Any]]) -> None: ...


class BadBody(Exception):
    """The body as a whole is refused (not JSON, not an event or batch, empty, too many events)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class NotStored(Exception):
    """Kafka did not acknowledge the events: none is stored, the caller retries (HTTP 503)."""

    code = "unavailable"
    message = "events could not be stored, retry later"
    retry_after = 1  # seconds


@dataclass(frozen=True)
class IngestResult:
    """Per-event results in the order sent (``{"index", "event_id", "status", ...}``) and what was accepted."""

    results: list[dict[str, Any]]
    accepted: int
    rejected_by_reason: dict[str, int]


def parse_events(body: bytes) -> list[Any]:
    """The events of a body holding one event object or ``{"events": [...]}``; ``BadBody`` if none can be read."""
    try:
        doc = _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise BadBody(400, "not_json", f"the body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadBody(400, "too_deep", TOO_DEEP) from exc
    if isinstance(doc, dict) and "events" in doc:
        if not isinstance(doc["events"], list):
            raise BadBody(400, "invalid_batch", "'events' must be an array of event objects")
        events: list[Any] = doc["events"]
    elif isinstance(doc, dict):
        events = [doc]
    else:
        raise BadBody(400, "not_an_object", 'send one event object or {"events": [...]}')
    if not events:
        raise BadBody(400, "empty_batch", "the batch holds no events")
    if len(events) > MAX_EVENTS:
        raise BadBody(413, "batch_too_large", f"at most {MAX_EVENTS} events per request")
    return events


def rejected(index: int, event_id: Any, reason: str, detail: str) -> dict[str, Any]:
    """One event's rejection as a per-event result."""
    return {
        "index": index,
        "event_id": event_id if isinstance(event_id, str) else None,
        "status": "rejected",
        "reason": reason,
        "detail": detail,
    }


async def ingest(
    events: list[Any], source: str, *, forwarder: Forwarder, limits: DecodeLimits, now: datetime
) -> IngestResult:
    """Validate ``events`` for the credential bound to ``source`` and forward the valid ones; ``NotStored``
    if Kafka did not acknowledge them. An event without ``source`` or ``event_id`` gets the bound source
    and a fresh id; one naming another source is rejected (``source_mismatch``)."""
    results: list[dict[str, Any]] = [{}] * len(events)
    by_reason: dict[str, int] = {}
    prepared: list[Any] = []
    for i, ev in enumerate(events):
        if isinstance(ev, dict):
            ev = dict(ev)
            ev.setdefault("source", source)
            ev.setdefault("event_id", str(uuid.uuid4()))
            if ev["source"] != source:
                why = f"this key may only send events of source {source!r}"
                results[i] = rejected(i, ev.get("event_id"), "source_mismatch", why)
                by_reason["source_mismatch"] = by_reason.get("source_mismatch", 0) + 1
                prepared.append(None)
                continue
        prepared.append(ev)
    # Validate the remaining events in one pass of the pipeline's own decoder.
    candidates = [(i, ev) for i, ev in enumerate(prepared) if ev is not None]
    decoded = decode_record(msgspec.json.encode({"events": [ev for _, ev in candidates]}), now=now, limits=limits)
    bad = {r.index: r for r in decoded.rejections}
    good: list[dict[str, Any]] = []
    for j, (i, ev) in enumerate(candidates):
        r = bad.get(j)
        if r is not None:
            eid = ev.get("event_id") if isinstance(ev, dict) else None
            results[i] = rejected(i, eid, r.reason.value, r.detail)
            by_reason[r.reason.value] = by_reason.get(r.reason.value, 0) + 1
        else:
            results[i] = {"index": i, "event_id": ev["event_id"], "status": "accepted"}
            good.append(ev)
    if good:
        try:
            await forwarder.send(good)
        except Exception as exc:  # Kafka unavailable: nothing is acknowledged, the caller retries
            log.warning("events could not be forwarded to Kafka: %s", exc)  # the driver's text: logs only
            raise NotStored from exc
    return IngestResult(results, len(good), by_reason)


@dataclass(frozen=True)
class Ingest:
    """``ingest`` bound to a forwarder, the decoder limits and a clock: what a front end holds."""

    forwarder: Forwarder
    limits: DecodeLimits
    clock: Callable[[], datetime]

    async def __call__(self, events: list[Any], source: str) -> IngestResult:
        return await ingest(events, source, forwarder=self.forwarder, limits=self.limits, now=self.clock())
