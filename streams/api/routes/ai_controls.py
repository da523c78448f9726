"""``/api/billing/organizations/{id}/ai-controls``: what an organization lets its people do with AI — features
switched off, providers and models allowed, monthly caps, the approval switch — for the whole organization and
per member (docs/ai-controls.md). Owners and admins set them, viewers read them; the entitlement answer enforces
them (``routes.usage.entitlement`` with ``user_id``, ``provider``, ``model``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rating.quota import metric_rule, premium_entitled
from schemas import ai_rules
from schemas.events import Metric
from streams.api.ai_models import AiControlsIn, AiControlsList, AiControlsOut
from streams.api.audit import actor_of, audit_change
from streams.api.auth import MANAGE, READ_ALL, require_role
from streams.api.common import account_terms, caller
from streams.api.errors import ApiError
from streams.api.models import ID_PATTERN, ORG_ID_PATTERN
from streams.api.routes.orgs import PREFIX
from streams.api.routes.usage import catalog_features
from streams.api.routing import Call, Endpoint
from streams.store import ai_controls, orgs
from streams.store.models import AiControlsRow
from streams.store.relays import quota_records

_DEFAULT = AiControlsIn.model_validate({})  # no controls: everything the tier allows


def _out(row: AiControlsRow | None, user_id: str | None) -> AiControlsOut:
    if row is None:
        defaults = _DEFAULT.model_dump(exclude={"monthly_spend_cap"})
        return AiControlsOut(user_id=user_id, monthly_spend_cap=None, updated_at=None, updated_by=None, **defaults)
    return AiControlsOut(
        user_id=None if row.user_id == ai_controls.ORG else row.user_id,
        disabled_features=row.disabled_features,
        allowed_providers=row.allowed_providers,
        allowed_models=row.allowed_models,
        monthly_spend_cap=row.monthly_spend_cap,
        monthly_request_cap=row.monthly_request_cap,
        cap_mode=row.cap_mode,  # type: ignore[arg-type]
        approval_required=row.approval_required,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def list_controls(call: Call) -> AiControlsList:
    org_id = call.path["id"]
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
        rows = ai_controls.for_organization(s, org_id)
        tier = account_terms(s, catalog, org_id, now).tier
    premium, _ = catalog_features(catalog)
    allowed = {f for f in premium if premium_entitled(metric_rule(tier, Metric.PREMIUM_FEATURE), f)} | set(
        tier.features
    )
    org = next((r for r in rows if r.user_id == ai_controls.ORG), None)
    return AiControlsList(
        organization_id=org_id,
        tier_features=sorted(allowed),
        organization=_out(org, None),
        members=[_out(r, r.user_id) for r in rows if r.user_id != ai_controls.ORG],
    )


def _put(call: Call, s: Session, user_key: str) -> AiControlsOut:
    body: AiControlsIn = call.body
    org_id = call.path["id"]
    who = caller(call, s)
    require_role(s, who, org_id, MANAGE)
    if (problem := body.names_ok()) is not None:
        raise ApiError(422, "invalid_request", problem)
    premium, features = catalog_features(call.ctx.catalog.at(call.ctx.clock()))
    unknown = sorted(set(body.disabled_features) - premium - features)
    if unknown:
        raise ApiError(422, "unknown_feature", f"not features of the catalog: {', '.join(unknown)}")
    if user_key != ai_controls.ORG and orgs.member(s, org_id, user_key) is None:
        raise ApiError(404, "not_found", f"{user_key} is not a member of {org_id}")
    row = s.get(AiControlsRow, (org_id, user_key))
    before = _out(row, None).model_dump(mode="json", exclude={"updated_at", "updated_by", "user_id"}) if row else None
    if row is None:
        row = AiControlsRow(organization_id=org_id, user_id=user_key)
        s.add(row)
    row.disabled_features = sorted(set(body.disabled_features))
    row.allowed_providers = sorted(set(body.allowed_providers)) if body.allowed_providers is not None else None
    row.allowed_models = sorted(set(body.allowed_models)) if body.allowed_models is not None else None
    row.monthly_spend_cap = f"{body.monthly_spend_cap:f}" if body.monthly_spend_cap is not None else None
    row.monthly_request_cap = body.monthly_request_cap
    row.cap_mode = body.cap_mode
    row.approval_required = body.approval_required
    row.updated_at = call.ctx.clock()
    row.updated_by = actor_of(who)
    s.flush()
    now = call.ctx.clock()
    publish_controls(s, org_id, user_key, now)  # to gateways (SDK)
    out = _out(row, None if user_key == ai_controls.ORG else user_key)
    after = out.model_dump(mode="json", exclude={"updated_at", "updated_by", "user_id"})
    audit_change(call, s, who, org_id, "ai_controls.changed", target=user_key, before=before, after=after)
    return out


def publish_controls(s: Session, org_id: str, user_key: str, now: datetime) -> None:
    """The row's ``@ai_controls:`` record (its controls and, for a member, their approved access) to the outbox,
    in the transaction of the change: the quota-state relay publishes it to gateways."""
    rule = ai_controls.rule_of(s, org_id, user_key) or ai_controls.Rule(frozenset(), None, None, user_id=user_key)
    record = ai_rules.controls_record(org_id, user_key, rule, now.isoformat())
    quota_records.enqueue(s, ai_rules.controls_key(org_id, user_key), record, now)


def put_org_controls(call: Call) -> AiControlsOut:
    with call.ctx.sessions.begin() as s:
        out = _put(call, s, ai_controls.ORG)
    call.ctx.notify_outbox()  # publish the record to gateways
    call.ctx.notify_ai_caps()  # a changed cap: the cap watcher re-checks (and publishes) now
    return out


def put_member_controls(call: Call) -> AiControlsOut:
    with call.ctx.sessions.begin() as s:
        out = _put(call, s, call.path["user_id"])
    call.ctx.notify_outbox()
    call.ctx.notify_ai_caps()
    return out


_TAG = "ai-controls"
_ERR = (401, 403, 404, 422)

ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/ai-controls",
        list_controls,
        "The organization's AI controls and its members' own (owners, admins, viewers)",
        _TAG,
        AiControlsList,
        path_params={"id": ORG_ID_PATTERN},
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}/ai-controls",
        put_org_controls,
        "Set the AI controls every member is bound by (owners, admins)",
        _TAG,
        AiControlsOut,
        body=AiControlsIn,
        path_params={"id": ORG_ID_PATTERN},
        errors=_ERR,
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}/ai-controls/members/{{user_id}}",
        put_member_controls,
        "Set a member's own AI controls, on top of the organization's (owners, admins)",
        _TAG,
        AiControlsOut,
        body=AiControlsIn,
        path_params={"id": ORG_ID_PATTERN, "user_id": ID_PATTERN},
        errors=_ERR,
    ),
]
