"""``GET /api/billing/organizations/{id}/usage/stream``: the admin panel's live usage as server-sent events
(docs/admin-panel.md). Each ``usage`` event holds the organization's usage per metric against its pooled quotas
(what ``GET /usage/current`` answers, from ``billing.quota-state``) and the per-member breakdown (what
``GET .../usage/members`` answers). An event is sent at once, then when the organization's quota state changes —
its metric records from the live stage, or its ``@ai_controls:`` / ``@ai_cap:`` records — and the figures differ
(the loop: streams/api/sse.py). The per-member figures come from the warehouse, seconds behind the quota state,
so after each change they are read again for ``SETTLE_SECONDS``. Owners, admins and viewers, checked again for
every event: a removed admin gets an ``error`` event and the end."""

from __future__ import annotations

import dataclasses

from starlette.responses import StreamingResponse

from streams.api.auth import READ_ALL, require_role
from streams.api.common import caller
from streams.api.models import ORG_ID_PATTERN, UsageCurrentQuery
from streams.api.org_usage_models import OrgUsageStreamEvent
from streams.api.routes.org_usage import members_usage
from streams.api.routes.orgs import PREFIX
from streams.api.routes.usage import usage_current
from streams.api.routing import Call, Endpoint
from streams.api.sse import live_stream

#: How long the per-member figures are read again after a quota-state change (the warehouse sink's batches).
SETTLE_SECONDS = 20.0


def read(call: Call) -> OrgUsageStreamEvent:
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)  # a member's own share is GET .../usage/members
    members = members_usage(call)
    usage = usage_current(dataclasses.replace(call, query=UsageCurrentQuery(account=org_id)))
    return OrgUsageStreamEvent(as_of=call.ctx.clock(), usage=usage, members=members)


def org_usage_stream(call: Call) -> StreamingResponse:
    org_id = call.path["id"]
    quota = call.ctx.quota
    return live_stream(
        call,
        "usage",
        lambda: read(call),
        lambda: (quota.changes(org_id), quota.ai_changes(org_id)),
        settle_seconds=SETTLE_SECONDS,
        figures=lambda e: e.model_dump(mode="json", exclude={"as_of": True, "members": {"as_of"}}),
        account=org_id,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/usage/stream",
        org_usage_stream,
        "The organization's live usage against its pooled quotas and per member, as server-sent events "
        "(event 'usage': OrgUsageStreamEvent; owners, admins, viewers)",
        "organizations",
        OrgUsageStreamEvent,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
        media={"text/event-stream": {"type": "string", "description": "events 'usage' (OrgUsageStreamEvent), 'error'"}},
        media_only=True,
        description="One event at once, then one whenever the organization's quota state (its metrics, AI controls "
        "and AI cap state) changes the figures; 'as_of' says when they were read. The access of GET .../usage/members "
        "for owners, admins and viewers, checked again for every event. At most METERLINE_API_STREAMS_PER_ACCOUNT "
        "(20) streams of one account at once (429 too_many_streams).",
    ),
]
