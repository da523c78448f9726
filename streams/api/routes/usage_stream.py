"""``GET /api/billing/usage/stream``: the live period-to-date usage of an account as server-sent events, fed by
``billing.quota-state`` (the API's ``QuotaView``). Each ``usage`` event is what ``GET /usage/current`` answers,
with the time it was read (``as_of``); one is sent at once, then whenever the account's quota state changes
(the loop, keep-alives and access re-checks: streams/api/sse.py). Every event is computed by ``usage_current``
itself, so a signed-out session or a removed member gets an ``error`` event and the end."""

from __future__ import annotations

from starlette.responses import StreamingResponse

from streams.api.models import UsageCurrentQuery, UsageStreamEvent
from streams.api.routes.usage import usage_current
from streams.api.routing import Call, Endpoint
from streams.api.sse import live_stream


def usage_stream(call: Call) -> StreamingResponse:
    q: UsageCurrentQuery = call.query
    return live_stream(
        call,
        "usage",
        lambda: UsageStreamEvent(as_of=call.ctx.clock(), usage=usage_current(call)),
        lambda: call.ctx.quota.changes(q.account),
        account=q.account,
    )


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
        "they were read. The same access as GET /usage/current, checked again for every event. At most "
        "METERLINE_API_STREAMS_PER_ACCOUNT (20) streams of one account at once (429 too_many_streams).",
    ),
]
