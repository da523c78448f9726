"""``/api/billing/organizations/{id}/ai-access-requests``: the approval workflow of AI controls (docs/ai-controls.md).
While the organization's controls (or a member's own) require approval, a member's AI use is refused with
``approval_required`` until what it names is approved for them (``schemas.ai_rules.missing_approval``). Any member
asks (signed in as themselves); owners and admins approve, deny or revoke, their own requests included (they may
switch the requirement off anyway; every step is in the audit log); viewers read. An approval or revocation takes
effect at once in the entitlement answer and, through the outbox and ``billing.quota-state``, in the gateways'
local check within seconds. A request is emailed to the organization's billing address; the member is emailed the
decision when their invitation named an email."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import ai_rules
from streams.api.ai_models import (
    AccessDecisionIn,
    AccessModelOption,
    AccessRequestIn,
    AccessRequestList,
    AccessRequestOut,
    AccessRequestQuery,
)
from streams.api.audit import actor_of, audit_change
from streams.api.auth import ANY, MANAGE, READ_ALL, Principal, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN
from streams.api.routes.ai_controls import publish_controls
from streams.api.routes.orgs import PREFIX
from streams.api.routes.usage import catalog_features
from streams.api.routing import Call, Endpoint
from streams.notify.outbox import enqueue_notice
from streams.store import ai_access, ai_controls
from streams.store.models import AiAccessRequestRow, Invitation

_REQUEST_ID = r"^air_[0-9a-f]{24}$"


def _out(r: AiAccessRequestRow) -> AccessRequestOut:
    return AccessRequestOut(
        id=r.id,
        organization_id=r.organization_id,
        user_id=r.user_id,
        feature=r.feature,
        provider=r.provider,
        model=r.model,
        reason=r.reason,
        status=r.status,  # type: ignore[arg-type]
        created_at=r.created_at,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        note=r.note,
    )


def _options(call: Call) -> tuple[list[str], list[AccessModelOption]]:
    catalog = call.ctx.catalog.at(call.ctx.clock())
    premium, _ = catalog_features(catalog)
    models = [
        AccessModelOption(provider=p, models=sorted(x for x in m if x != ai_rules.ANY_MODEL))
        for p, m in sorted(catalog.ai_costs.items())
    ]
    return sorted(premium | {ai_rules.AI_METRIC}), models


def _requires_approval(s: Session, org_id: str, user_id: str | None) -> bool:
    return any(r.approval_required for r in ai_controls.rules(s, org_id, user_id))


def _the_member(who: Principal) -> str:
    if who.user_id is None:
        raise ApiError(403, "forbidden", "an API key acts for no one: the member asks, signed in as themselves")
    return who.user_id


def list_requests(call: Call) -> AccessRequestList:
    q: AccessRequestQuery = call.query
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        who = caller(call, s)
        role = require_role(s, who, org_id, ANY)
        sees_all = role in READ_ALL
        if not sees_all:
            mine = _the_member(who)
            if q.user_id not in (None, mine):
                raise ApiError(403, "forbidden", f"the role {role} sees only its own requests")
        user = q.user_id if sees_all else who.user_id
        rows = ai_access.listed(s, org_id, user_id=user, status=q.status)
        required = _requires_approval(s, org_id, who.user_id)
    features, models = _options(call)
    return AccessRequestList(
        organization_id=org_id,
        approval_required=required,
        scope="organization" if sees_all else "self",
        features=features,
        models=models,
        requests=[_out(r) for r in rows],
    )


def _subject(call: Call, body: AccessRequestIn) -> ai_rules.Subject:
    features, _ = _options(call)
    if (body.feature is None) == (body.provider is None):
        raise ApiError(422, "invalid_request", "ask for a feature, or for a provider's model: one of the two")
    if body.feature is not None:
        if body.model is not None:
            raise ApiError(422, "invalid_request", "a model goes with its provider, not with a feature")
        if body.feature not in features:
            raise ApiError(422, "unknown_feature", f"{body.feature} is not an AI feature of the catalog")
        return ai_rules.feature_subject(body.feature)
    assert body.provider is not None
    known = call.ctx.catalog.at(call.ctx.clock()).ai_costs.get(body.provider)
    if known is None:
        raise ApiError(422, "unknown_provider", f"{body.provider} is not an AI provider of the catalog")
    if body.model is not None and body.model not in known and ai_rules.ANY_MODEL not in known:
        raise ApiError(422, "unknown_model", f"{body.model} is not a model of {body.provider} in the catalog")
    return ai_rules.model_subject(body.provider, body.model)


def create_request(call: Call) -> AccessRequestOut:
    body: AccessRequestIn = call.body
    org_id = call.path["id"]
    subject = _subject(call, body)
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, org_id, ANY)
        user = _the_member(who)
        existing = ai_access.open_for(s, org_id, user, subject)
        if existing is not None:
            what = "already approved" if existing.status == "approved" else "already waiting for a decision"
            raise ApiError(409, f"already_{existing.status}", f"{what}: {existing.id}")
        row = ai_access.create(s, org_id, user, subject, body.reason or None, now)
        # Whoever decides is told at the organization's address (as AI cap alerts are): the store knows no
        # email for an owner who created the organization, and the panel alone would wait to be looked at.
        context = {"account_id": org_id, "member": user, "what": ai_access.describe(subject), "reason": row.reason}
        enqueue_notice(s, "ai_access_requested", org_id, f"ai_access_requested:{row.id}", context, now)
        out = _out(row)
        after = {"subject": list(subject), "reason": row.reason}
        audit_change(call, s, who, org_id, "ai_access.requested", target=row.id, after=after)
    return out


def _member_email(s: Session, org_id: str, user_id: str) -> str | None:
    """The email the member's accepted invitation named, if any: the only address the store knows for them."""
    q = (
        select(Invitation.email)
        .where(
            Invitation.organization_id == org_id,
            Invitation.user_id == user_id,
            Invitation.status == "accepted",
            Invitation.email.is_not(None),
        )
        .order_by(Invitation.created_at.desc())
    )
    return s.scalars(q).first()


def _decide(call: Call, status: str, allowed_from: str) -> AccessRequestOut:
    body: AccessDecisionIn = call.body
    org_id, request_id = call.path["id"], call.path["request_id"]
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, org_id, MANAGE)
        row = ai_access.get(s, org_id, request_id, for_update=True)
        if row is None:
            raise ApiError(404, "not_found", f"no request {request_id} in {org_id}")
        if row.status != allowed_from:
            raise ApiError(409, "conflict", f"the request is {row.status}, not {allowed_from}")
        before = {"status": row.status}
        ai_access.decide(row, status, actor_of(who), body.note or None, now)
        s.flush()
        publish_controls(s, org_id, row.user_id, now)  # what the member may use now, to the gateways
        email = _member_email(s, org_id, row.user_id)
        if email is not None:
            subject = ai_access.subject_of(row)
            context = {
                "account_id": org_id,
                "member": row.user_id,
                "what": ai_access.describe(subject),
                "decision": status,
                "note": row.note,
            }
            key = f"ai_access_decided:{row.id}:{status}"
            enqueue_notice(s, "ai_access_decided", org_id, key, context, now, recipient=email)
        after = {"status": status, "note": row.note, "user_id": row.user_id, "subject": list(ai_access.subject_of(row))}
        audit_change(call, s, who, org_id, f"ai_access.{status}", target=row.id, before=before, after=after)
        out = _out(row)
    call.ctx.notify_outbox()  # publish the member's record to gateways now
    return out


def approve(call: Call) -> AccessRequestOut:
    return _decide(call, "approved", "pending")


def deny(call: Call) -> AccessRequestOut:
    return _decide(call, "denied", "pending")


def revoke(call: Call) -> AccessRequestOut:
    return _decide(call, "revoked", "approved")


_TAG = "ai-controls"
_PATH = f"{PREFIX}/{{id}}/ai-access-requests"
_ONE = {"id": ORG_ID_PATTERN, "request_id": _REQUEST_ID}


def _decision(verb: str, handler: object, summary: str) -> Endpoint:
    return Endpoint(
        "POST",
        f"{_PATH}/{{request_id}}/{verb}",
        handler,  # type: ignore[arg-type]
        summary,
        _TAG,
        AccessRequestOut,
        body=AccessDecisionIn,
        body_optional=True,
        path_params=_ONE,
        errors=(401, 403, 404, 409, 422),
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        _PATH,
        list_requests,
        "AI access requests: everyone's (owners, admins, viewers) or the caller's own (members), with what may be "
        "asked for and whether the caller's AI use needs approval",
        _TAG,
        AccessRequestList,
        query=AccessRequestQuery,
        path_params={"id": ORG_ID_PATTERN},
    ),
    Endpoint(
        "POST",
        _PATH,
        create_request,
        "Ask for an AI feature or a provider's model while approval is required (any member, signed in as themselves)",
        _TAG,
        AccessRequestOut,
        status=201,
        body=AccessRequestIn,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 409, 422),
    ),
    _decision("approve", approve, "Approve a pending request: the member may use it within seconds (owners, admins)"),
    _decision("deny", deny, "Deny a pending request, with an optional note (owners, admins)"),
    _decision("revoke", revoke, "Withdraw an approval: the member is refused again within seconds (owners, admins)"),
]
