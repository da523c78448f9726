"""``GET /api/billing/usage/stream``: the live period-to-date usage of an account as server-sent events, fed by
``billing.quota-state`` (the API's ``QuotaView``). Each ``usage`` event is what ``GET /usage/current`` answers,
with the time it was read (``as_of``); one is sent at once, then whenever the account's quota state changes
(checked every ``POLL_SECONDS``), and a comment every ``KEEPALIVE_SECONDS`` keeps proxies from closing the
stream. Every event is computed by ``usage_current`` itself, so the caller's credentials and access are
checked again each time: a signed-out session or a removed member gets an ``error`` event and the end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import orjson
from starlette.responses import StreamingResponse

from streams.api.errors import ApiError
from streams.api.models import UsageCurrentQuery, UsageStreamEvent, dump
from streams.api.routes.usage import usage_current
from streams.api.routing import Call, Endpoint

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
#: A stream ends after this long; the browser's EventSource reconnects by itself (and is authenticated anew).
MAX_SECONDS = 3600.0


def _event(kind: str, data: object) -> bytes:
    return f"event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def usage_stream(call: Call) -> StreamingResponse:
    q: UsageCurrentQuery = call.query
    first = UsageStreamEvent(as_of=call.ctx.clock(), usage=usage_current(call))  # 401/403/404 before streaming

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 5000\n\n" + _event("usage", dump(first))
        seen = call.ctx.quota.changes(q.account)
        started = last = time.monotonic()
        while time.monotonic() - started < MAX_SECONDS:
            await anyio.sleep(POLL_SECONDS)
            if await call.request.is_disconnected():
                return
            now = call.ctx.quota.changes(q.account)
            if now == seen:
                if time.monotonic() - last >= KEEPALIVE_SECONDS:
                    last = time.monotonic()
                    yield b": keep-alive\n\n"
                continue
            seen = now
            try:
                usage = await anyio.to_thread.run_sync(usage_current, call, limiter=call.ctx.limiter)
            except ApiError as exc:
                yield _event("error", {"error": {"code": exc.code, "message": exc.message}})
                return
            last = time.monotonic()
            yield _event("usage", dump(UsageStreamEvent(as_of=call.ctx.clock(), usage=usage)))

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/usage/stream",
        usage_stream,
        "Live period-to-date usage as server-sent events (event 'usage': UsageStreamEvent), from the quota state",
        "usage",
        UsageStreamEvent,
        query=UsageCurrentQuery,
        errors=(401, 403, 404),
        media={"text/event-stream": {"type": "string", "description": "events 'usage' (UsageStreamEvent) and 'error'"}},
        media_only=True,
        description="One event at once, then one whenever the account's live figures change; 'as_of' says when "
        "they were read. The same access as GET /usage/current, checked again for every event.",
    ),
]
