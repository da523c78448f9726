"""HTTP ingest: ``POST /v1/events`` with one event or a batch, per-source API keys, per-event results.

The server validates with the same decoder as the ingest agent so a caller learns at once which
events are bad and why, then forwards the good ones to ``usage.events`` and answers only after
Kafka acknowledged them (so a 2xx means durable; on 503 the caller retries, and ``event_id``
makes the retry harmless). Error bodies have one shape: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schemas.decode import DecodeLimits, decode_record
from streams.http_json import JSON as _JSON
from streams.http_json import error_response as error
from streams.ingest.keys import ApiKey, ApiKeyStore
from streams.ingest.openapi import OPENAPI
from streams.rate_limits import Buckets, Decision

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_048_576
MAX_EVENTS = 1000
TOO_DEEP = "the body nests arrays or objects too deeply"
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class Forwarder(Protocol):
    """Sends validated event objects to ``usage.events``; returns once Kafka acknowledged them."""

    async def send(self, events: list[dict[str, Any]]) -> None: ...


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` bytes (without reading the rest into memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_ingest_app(
    keys: ApiKeyStore,
    forwarder: Forwarder,
    limits: DecodeLimits,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_result: Callable[[str, int, dict[str, int]], None] | None = None,
    rate_per_minute: int = 0,
    failures_per_minute: int = 0,
) -> Starlette:
    """The ASGI app; ``on_result(source, accepted, rejected_by_reason)`` feeds metrics. Each key may post
    ``rate_per_minute`` requests a minute (its own ``rate_per_minute`` wins; 0: no limit) and each client
    address may present ``failures_per_minute`` bad keys a minute, then 429 (docs/security.md)."""
    per_key, failures = Buckets(), Buckets()

    async def post_events(request: Request) -> Response:
        now = clock().timestamp()
        address = request.client.host if request.client is not None else "unknown"
        throttled = failures.blocked(address, failures_per_minute, now)
        if throttled is not None:
            return _too_many(throttled, "too many failed API keys from this address; retry later")
        presented = _presented_key(request)
        if not presented:
            return error(401, "missing_api_key", "send 'Authorization: Bearer <key>' (or X-API-Key)")
        key = keys.authenticate(presented)
        if key is None:
            failures.take(address, failures_per_minute, now)
            return error(401, "invalid_api_key", "the API key is unknown, malformed or revoked")
        limit = key.rate_per_minute if key.rate_per_minute is not None else rate_per_minute
        d = per_key.take(key.key_id, limit, now)
        if not d.allowed:
            return _too_many(d, f"this key may post {limit} requests a minute; retry later")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if ctype not in ("application/json", ""):
            return error(415, "unsupported_media_type", "send application/json")
        body = await _read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return error(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
        return await _ingest(key, body)

    async def _ingest(key: ApiKey, body: bytes) -> Response:
        try:
            # Decimal for JSON numbers: a quantity must reach the pipeline exactly as sent.
            doc = _DECODER.decode(body)
        except msgspec.DecodeError as exc:
            return error(400, "not_json", f"the body is not JSON: {exc}")
        except RecursionError:
            return error(400, "too_deep", TOO_DEEP)
        if isinstance(doc, dict) and "events" in doc:
            events = doc["events"]
            if not isinstance(events, list):
                return error(400, "invalid_batch", "'events' must be an array of event objects")
        elif isinstance(doc, dict):
            events = [doc]
        else:
            return error(400, "not_an_object", 'send one event object or {"events": [...]}')
        if not events:
            return error(400, "empty_batch", "the batch holds no events")
        if len(events) > MAX_EVENTS:
            return error(413, "batch_too_large", f"at most {MAX_EVENTS} events per request")

        results: list[dict[str, Any]] = [{}] * len(events)
        rejected: dict[str, int] = {}
        prepared: list[Any] = []
        for i, ev in enumerate(events):
            if isinstance(ev, dict):
                ev = dict(ev)
                ev.setdefault("source", key.source)
                ev.setdefault("event_id", str(uuid.uuid4()))
                if ev["source"] != key.source:
                    results[i] = _rejected(
                        i,
                        ev.get("event_id"),
                        "source_mismatch",
                        f"this key may only send events of source {key.source!r}",
                    )
                    rejected["source_mismatch"] = rejected.get("source_mismatch", 0) + 1
                    prepared.append(None)
                    continue
            prepared.append(ev)
        # Validate the remaining events in one pass of the pipeline's own decoder.
        candidates = [(i, ev) for i, ev in enumerate(prepared) if ev is not None]
        decoded = decode_record(
            msgspec.json.encode({"events": [ev for _, ev in candidates]}), now=clock(), limits=limits
        )
        bad = {r.index: r for r in decoded.rejections}
        good: list[dict[str, Any]] = []
        for j, (i, ev) in enumerate(candidates):
            r = bad.get(j)
            if r is not None:
                eid = ev.get("event_id") if isinstance(ev, dict) else None
                results[i] = _rejected(i, eid, r.reason.value, r.detail)
                rejected[r.reason.value] = rejected.get(r.reason.value, 0) + 1
            else:
                results[i] = {"index": i, "event_id": ev["event_id"], "status": "accepted"}
                good.append(ev)
        if good:
            try:
                await forwarder.send(good)
            except Exception as exc:  # Kafka unavailable: nothing is acknowledged, the caller retries
                log.warning("events could not be forwarded to Kafka: %s", exc)  # the driver's text: logs only
                retry = {"Retry-After": "1"}
                return error(503, "unavailable", "events could not be stored, retry later", headers=retry)
        if on_result:
            on_result(key.source, len(good), rejected)
        status = 200 if good else 422
        return _JSON(
            {"accepted": len(good), "rejected": len(events) - len(good), "results": results}, status_code=status
        )

    async def openapi(_: Request) -> Response:
        return _JSON(OPENAPI)

    async def health(_: Request) -> Response:
        return _JSON({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/events", post_events, methods=["POST"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def _too_many(d: Decision, message: str) -> Response:
    return error(429, "rate_limited", message, headers={"Retry-After": str(max(1, d.retry_after))})


def _rejected(index: int, event_id: Any, reason: str, detail: str) -> dict[str, Any]:
    return {
        "index": index,
        "event_id": event_id if isinstance(event_id, str) else None,
        "status": "rejected",
        "reason": reason,
        "detail": detail,
    }
