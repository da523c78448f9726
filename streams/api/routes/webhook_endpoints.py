"""Outgoing webhook endpoints of an organization (docs/notifications.md): owners and admins create, list,
delete them, rotate their secrets and list their deliveries; anyone else gets 403 inside the organization
and 404 outside it. A secret is shown once (on creation and rotation), never listed."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from streams.api.auth import MANAGE, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN
from streams.api.routes.orgs import PREFIX
from streams.api.routing import Call, Endpoint
from streams.api.webhook_models import (
    WEBHOOK_ENDPOINT_ID_PATTERN,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
)
from streams.notify import signing, targets
from streams.store.models import WebhookDeliveryRow, WebhookEndpointRow

MAX_ENDPOINTS = 20


def _out(ep: WebhookEndpointRow, secret: str | None = None) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=ep.id,
        organization_id=ep.organization_id,
        url=ep.url,
        event_types=list(ep.event_types),
        created_at=ep.created_at,
        secret=secret,
    )


def _managed(s: Session, call: Call) -> WebhookEndpointRow:
    require_role(s, caller(call, s), call.path["id"], MANAGE)
    ep = s.get(WebhookEndpointRow, call.path["endpoint_id"])
    if ep is None or ep.organization_id != call.path["id"]:
        raise ApiError(404, "not_found", f"no webhook endpoint {call.path['endpoint_id']}")
    return ep


def create_endpoint(call: Call) -> WebhookEndpointOut:
    body: WebhookEndpointCreate = call.body
    with call.ctx.sessions.begin() as s:
        require_role(s, caller(call, s), call.path["id"], MANAGE)
        if not call.ctx.settings.webhook_allow_private_targets and (why := targets.written_refusal(body.url)):
            raise ApiError(422, "invalid_request", f"url: {why}: webhooks go to public addresses only")
        count = len(
            s.scalars(select(WebhookEndpointRow.id).where(WebhookEndpointRow.organization_id == call.path["id"])).all()
        )
        if count >= MAX_ENDPOINTS:
            raise ApiError(409, "too_many_endpoints", f"an organization has at most {MAX_ENDPOINTS} endpoints")
        secret = signing.new_secret()
        ep = WebhookEndpointRow(
            id=f"we_{secrets.token_hex(12)}",
            organization_id=call.path["id"],
            url=body.url,
            event_types=list(body.event_types),
            secret=secret,
            created_at=call.ctx.clock(),
        )
        s.add(ep)
        return _out(ep, secret)


def list_endpoints(call: Call) -> WebhookEndpointList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], MANAGE)
        rows = s.scalars(
            select(WebhookEndpointRow)
            .where(WebhookEndpointRow.organization_id == call.path["id"])
            .order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
        )
        return WebhookEndpointList(endpoints=[_out(ep) for ep in rows])


def delete_endpoint(call: Call) -> WebhookEndpointOut:
    with call.ctx.sessions.begin() as s:
        ep = _managed(s, call)
        out = _out(ep)
        s.delete(ep)
        return out


def rotate_secret(call: Call) -> WebhookEndpointOut:
    """A new secret at once: pending deliveries are signed with it from their next attempt."""
    with call.ctx.sessions.begin() as s:
        ep = _managed(s, call)
        ep.secret = signing.new_secret()
        return _out(ep, ep.secret)


def list_deliveries(call: Call) -> WebhookDeliveryList:
    with call.ctx.sessions() as s:
        ep = _managed(s, call)
        rows = s.scalars(
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.endpoint_id == ep.id)
            .order_by(WebhookDeliveryRow.id.desc())
            .limit(200)
        )
        return WebhookDeliveryList(
            deliveries=[
                WebhookDeliveryOut(
                    event_id=r.event_id,
                    event_type=r.event_type,
                    created_at=r.created_at,
                    attempts=r.attempts,
                    last_status=r.last_status,
                    last_error=r.last_error,
                    next_attempt_at=r.next_attempt_at,
                    done_at=r.done_at,
                    outcome=r.outcome,  # type: ignore[arg-type]
                )
                for r in rows
            ]
        )


_TAG = "webhooks"
_ORG = {"id": ORG_ID_PATTERN}
_ONE = {"id": ORG_ID_PATTERN, "endpoint_id": WEBHOOK_ENDPOINT_ID_PATTERN}
_BASE = f"{PREFIX}/{{id}}/webhook-endpoints"

ENDPOINTS = [
    Endpoint(
        "POST",
        _BASE,
        create_endpoint,
        "Register an endpoint for outgoing webhooks (owners and admins); its whsec_ secret is shown once",
        _TAG,
        WebhookEndpointOut,
        status=201,
        body=WebhookEndpointCreate,
        path_params=_ORG,
        errors=(401, 403, 404, 409, 422),
        description="The URL's host must be a public address (422 for loopback, private, link-local or localhost: "
        "docs/security.md). Events are signed as the Standard Webhooks specification says (webhook-id, "
        "webhook-timestamp, webhook-signature) and retried with exponential backoff for 24 h.",
    ),
    Endpoint(
        "GET",
        _BASE,
        list_endpoints,
        "The organization's webhook endpoints (no secrets)",
        _TAG,
        WebhookEndpointList,
        path_params=_ORG,
    ),
    Endpoint(
        "DELETE",
        f"{_BASE}/{{endpoint_id}}",
        delete_endpoint,
        "Delete an endpoint and its deliveries",
        _TAG,
        WebhookEndpointOut,
        path_params=_ONE,
    ),
    Endpoint(
        "POST",
        f"{_BASE}/{{endpoint_id}}/rotate-secret",
        rotate_secret,
        "Replace an endpoint's secret; the new one is shown once",
        _TAG,
        WebhookEndpointOut,
        path_params=_ONE,
    ),
    Endpoint(
        "GET",
        f"{_BASE}/{{endpoint_id}}/deliveries",
        list_deliveries,
        "An endpoint's deliveries, newest first (at most 200): attempts, last status, outcome",
        _TAG,
        WebhookDeliveryList,
        path_params=_ONE,
    ),
]
