"""Server-sent events of live figures (``GET /usage/stream``, ``GET /organizations/{id}/usage/stream``): ONE
loop for every live stream. The figures are read once before the answer starts (so 401/403/404 are plain
answers), sent at once, then read again whenever the stream's cue changes (a counter of the API's quota view,
checked every ``POLL_SECONDS``) and sent when they differ from the last ones sent. A comment every
``KEEPALIVE_SECONDS`` keeps proxies from closing the stream. Each read is the endpoint's own handler, so the
caller's credentials and access are checked again for every event: a signed-out session or a removed member gets
an ``error`` event and the end."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TypeVar

import anyio
import anyio.to_thread
import orjson
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from sinks.clickhouse.usage_queries import WarehouseUnavailable
from streams.api.errors import ApiError
from streams.api.models import dump
from streams.api.routing import Call

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
#: A stream ends after this long; the browser's EventSource reconnects by itself (and is authenticated anew).
MAX_SECONDS = 3600.0

M = TypeVar("M", bound=BaseModel)


def event(kind: str, data: object) -> bytes:
    return f"event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def _figures(model: BaseModel) -> object:
    """What makes two events different: everything but the time the figures were read."""
    return model.model_dump(mode="json", exclude={"as_of"})


def live_stream(
    call: Call,
    kind: str,
    read: Callable[[], M],
    cue: Callable[[], Hashable],
    *,
    settle_seconds: float = 0.0,
    figures: Callable[[M], object] = _figures,
    account: str | None = None,
) -> StreamingResponse:
    """Events named ``kind`` of what ``read`` answers (called now, in the handler's thread: its errors are the
    answer's). ``settle_seconds``: after a cue, keep reading every poll for this long — for figures that follow
    the cue with a lag (the warehouse's batches behind the quota state) — sending only what changed."""
    first = read()
    release = _slot(call, account)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in _events(first):
                yield chunk
        finally:
            release()

    async def _events(first: M) -> AsyncIterator[bytes]:
        yield b"retry: 5000\n\n" + event(kind, dump(first))
        sent, seen = figures(first), cue()
        started = last = time.monotonic()
        reread_until = 0.0
        while time.monotonic() - started < MAX_SECONDS:
            await anyio.sleep(POLL_SECONDS)
            if await call.request.is_disconnected():
                return
            now = cue()
            changed = now != seen
            if changed:
                seen, reread_until = now, time.monotonic() + settle_seconds
            if changed or time.monotonic() < reread_until:  # a change, or still settling: read again
                try:
                    model = await anyio.to_thread.run_sync(read, limiter=call.ctx.limiter)
                except ApiError as exc:
                    yield event("error", {"error": {"code": exc.code, "message": exc.message}})
                    return
                except WarehouseUnavailable:  # a passing outage: the stream stays, the next cue reads again
                    model = None
                if model is not None and (new := figures(model)) != sent:
                    sent, last = new, time.monotonic()
                    yield event(kind, dump(model))
                    continue
            if time.monotonic() - last >= KEEPALIVE_SECONDS:
                last = time.monotonic()
                yield b": keep-alive\n\n"

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    # The slot is given back when the events end, and after the answer in any case (a stream never started).
    return StreamingResponse(
        events(), media_type="text/event-stream", headers=headers, background=BackgroundTask(release)
    )


def _slot(call: Call, account: str | None) -> Callable[[], None]:
    """One of ``account``'s stream slots (docs/security.md, "Limits"), or 429; returns how to give it back, once."""
    if account is None:
        return lambda: None
    limits = call.ctx.limits
    if not limits.streams.take(account, limits.streams_per_account):
        raise ApiError(
            429,
            "too_many_streams",
            f"{limits.streams_per_account} live streams of {account} are open already: close one, or poll",
            {"Retry-After": "5"},
        )
    given = threading.Event()

    def release() -> None:
        if not given.is_set():
            given.set()
            limits.streams.give_back(account)

    return release
