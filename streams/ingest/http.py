"""HTTP ingest: ``POST /v1/events`` with one event or a batch, per-source API keys, per-event results.

The server validates with the same decoder as the ingest agent so a caller learns at once which
events are bad and why, then forwards the good ones to ``usage.events`` and answers only after
Kafka acknowledged them (so a 2xx means durable; on 503 the caller retries, and ``event_id``
makes the retry harmless). Error bodies have one shape: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schemas.decode import DecodeLimits
from streams.http_json import JSON as _JSON
from streams.http_json import error_response as error
from streams.ingest.keys import ApiKey, ApiKeyStore
from streams.ingest.openapi import OPENAPI
from streams.ingest.service import BadBody, Forwarder, NotStored, ingest, parse_events
from streams.rate_limits import Buckets, Decision

__all__ = ["MAX_BODY_BYTES", "Forwarder", "create_ingest_app", "error"]
MAX_BODY_BYTES = 1_048_576


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
            events = parse_events(body)
            done = await ingest(events, key.source, forwarder=forwarder, limits=limits, now=clock())
        except BadBody as exc:
            return error(exc.status, exc.code, exc.message)
        except NotStored as exc:
            return error(503, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)})
        if on_result:
            on_result(key.source, done.accepted, done.rejected_by_reason)
        status = 200 if done.accepted else 422
        answer = {"accepted": done.accepted, "rejected": len(events) - done.accepted, "results": done.results}
        return _JSON(answer, status_code=status)

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
