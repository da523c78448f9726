"""``/api/billing/organizations``: organizations, their members (owner, admin, member, viewer) and API keys.

A platform user (JWT) creates an organization and becomes its owner. Owners and admins invite members
(``routes.invitations``: nobody becomes a member without accepting) and manage roles and keys; only an
owner makes, unmakes or removes an owner, and the last owner stays, also under concurrent requests.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from streams.api.audit import audit_change
from streams.api.auth import ANY, MANAGE, OWNERS, READ_ALL, Principal, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import (
    ID_PATTERN,
    KEY_ID_PATTERN,
    ORG_ID_PATTERN,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    BillingAddress,
    MemberList,
    MemberOut,
    MemberUpdate,
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
)
from streams.api.routing import Call, Endpoint
from streams.store import orgs
from streams.store.models import ApiKeyRow, Member, Organization
from streams.store.orgs import Role, StoreConflict

PREFIX = "/api/billing/organizations"


def _org_out(org: Organization, role: str | None) -> OrganizationOut:
    return OrganizationOut(
        id=org.id,
        name=org.name,
        billing_email=org.billing_email,
        billing_address=BillingAddress.model_validate(org.billing_address) if org.billing_address else None,
        tax_id=org.tax_id,
        created_at=org.created_at,
        updated_at=org.updated_at,
        role=role,  # type: ignore[arg-type]
    )


def _member_out(m: Member) -> MemberOut:
    return MemberOut(user_id=m.user_id, role=m.role, created_at=m.created_at)  # type: ignore[arg-type]


def _key_out(k: ApiKeyRow) -> ApiKeyOut:
    return ApiKeyOut(
        id=k.id,
        name=k.name,
        role=k.role,  # type: ignore[arg-type]
        created_at=k.created_at,
        revoked_at=k.revoked_at,
        created_by=k.created_by,
    )


def create_organization(call: Call) -> OrganizationOut:
    body: OrganizationCreate = call.body
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        if who.kind != "user" or who.user_id is None:
            raise ApiError(
                403, "forbidden", "an organization is created by a platform user (JWT), who becomes its owner"
            )
        try:
            org = orgs.create_organization(s, body.name, who.user_id, call.ctx.clock(), body.billing_email)
        except StoreConflict as exc:  # a token whose 'sub' is an organization id
            raise conflict(exc) from exc
        if body.billing_address is not None:
            org.billing_address = body.billing_address.model_dump(exclude_none=True)
        org.tax_id = body.tax_id
        return _org_out(org, "owner")


def get_organization(call: Call) -> OrganizationOut:
    with call.ctx.sessions() as s:
        role = require_role(s, caller(call, s), call.path["id"], ANY)
        org = s.get(Organization, call.path["id"])
        assert org is not None
        return _org_out(org, role)


def update_organization(call: Call) -> OrganizationOut:
    body: OrganizationUpdate = call.body
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        role = require_role(s, who, call.path["id"], MANAGE)
        org = s.get(Organization, call.path["id"])
        assert org is not None
        before = _details(org)
        if body.name is not None:
            org.name = body.name
        if "billing_email" in body.model_fields_set:
            org.billing_email = body.billing_email
        if "billing_address" in body.model_fields_set:
            address = body.billing_address
            org.billing_address = address.model_dump(exclude_none=True) if address is not None else None
        if "tax_id" in body.model_fields_set:
            org.tax_id = body.tax_id
        org.updated_at = call.ctx.clock()
        if (after := _details(org)) != before:
            audit_change(call, s, who, org.id, "organization.updated", target=org.id, before=before, after=after)
        return _org_out(org, role)


def _details(org: Organization) -> dict[str, object]:
    return {
        "name": org.name,
        "billing_email": org.billing_email,
        "billing_address": org.billing_address,
        "tax_id": org.tax_id,
    }


def list_members(call: Call) -> MemberList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], READ_ALL)
        return MemberList(
            organization_id=call.path["id"], members=[_member_out(m) for m in orgs.members(s, call.path["id"])]
        )


def owner_only(role: Role, *roles: str) -> None:
    if "owner" in roles and role not in OWNERS:
        raise ApiError(403, "forbidden", "only an owner makes, changes or removes an owner")


def conflict(exc: StoreConflict) -> ApiError:
    return ApiError(409, exc.code, exc.message)


def _member(s: Session, org_id: str, user_id: str) -> Member:
    m = orgs.member(s, org_id, user_id)
    if m is None:
        raise ApiError(404, "not_found", f"{user_id} is not a member of {org_id}")
    return m


def _manage_members(s: Session, call: Call) -> tuple[Principal, Role]:
    """The caller's role, read again under the organization's lock (``orgs.lock_organization``): two owners
    demoting or removing each other (or themselves) at once are ordered, and the second sees the first's change,
    so the last owner stays whatever the interleaving."""
    who = caller(call, s)
    require_role(s, who, call.path["id"], MANAGE)  # outsiders are refused before they can take the lock
    orgs.lock_organization(s, call.path["id"])
    return who, require_role(s, who, call.path["id"], MANAGE)


def change_member(call: Call) -> MemberOut:
    body: MemberUpdate = call.body
    with call.ctx.sessions.begin() as s:
        who, role = _manage_members(s, call)
        m = _member(s, call.path["id"], call.path["user_id"])
        owner_only(role, body.role, m.role)
        before = m.role
        try:
            out = _member_out(orgs.change_role(s, m, body.role))
        except StoreConflict as exc:
            raise conflict(exc) from exc
        if before != body.role:
            audit_change(
                call,
                s,
                who,
                m.organization_id,
                "member.role_changed",
                target=m.user_id,
                before={"role": before},
                after={"role": body.role},
            )
        return out


def remove_member(call: Call) -> None:
    with call.ctx.sessions.begin() as s:
        who, role = _manage_members(s, call)
        m = _member(s, call.path["id"], call.path["user_id"])
        owner_only(role, m.role)
        org_id, user_id, before = m.organization_id, m.user_id, {"role": m.role}
        try:
            orgs.remove_member(s, m, call.ctx.clock())
        except StoreConflict as exc:
            raise conflict(exc) from exc
        audit_change(call, s, who, org_id, "member.removed", target=user_id, before=before)


def create_api_key(call: Call) -> ApiKeyCreated:
    body: ApiKeyCreate = call.body
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, call.path["id"], MANAGE)
        try:
            row, key = orgs.create_api_key(
                s,
                call.path["id"],
                body.name,
                body.role,
                call.ctx.clock(),
                created_by=_key_creator(s, who),
                most=call.ctx.settings.api_keys_per_organization,
            )
        except StoreConflict as exc:
            raise conflict(exc) from exc
        _audit_key(call, s, who, row, "api_key.created")
        return ApiKeyCreated(**_key_out(row).model_dump(), key=key)


def _audit_key(call: Call, s: Session, who: Principal, row: ApiKeyRow, action: str) -> None:
    key = {"name": row.name, "role": row.role}
    created = action == "api_key.created"
    audit_change(
        call,
        s,
        who,
        row.organization_id,
        action,
        target=row.id,
        before=None if created else key,
        after=key if created else None,
    )


def _key_creator(s: Session, who: Principal) -> str | None:
    """The user a new key depends on: the caller, or the creator of the key the caller uses."""
    if who.user_id is not None:
        return who.user_id
    parent = s.get(ApiKeyRow, who.key_id) if who.key_id is not None else None
    return parent.created_by if parent is not None else None


def list_api_keys(call: Call) -> ApiKeyList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], MANAGE)
        return ApiKeyList(api_keys=[_key_out(k) for k in orgs.api_keys(s, call.path["id"])])


def revoke_api_key(call: Call) -> ApiKeyOut:
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, call.path["id"], MANAGE)
        row = s.get(ApiKeyRow, call.path["key_id"])
        if row is None or row.organization_id != call.path["id"]:
            raise ApiError(404, "not_found", f"no API key {call.path['key_id']}")
        if row.revoked_at is None:
            row.revoked_at = call.ctx.clock()
            _audit_key(call, s, who, row, "api_key.revoked")
        return _key_out(row)


_TAG = "organizations"
_ORG = {"id": ORG_ID_PATTERN}
_MEMBER = {"id": ORG_ID_PATTERN, "user_id": ID_PATTERN}
_KEY = {"id": ORG_ID_PATTERN, "key_id": KEY_ID_PATTERN}

ENDPOINTS = [
    Endpoint(
        "POST",
        PREFIX,
        create_organization,
        "Create an organization (the calling user becomes its owner)",
        _TAG,
        OrganizationOut,
        status=201,
        body=OrganizationCreate,
        errors=(401, 403, 409),
    ),
    Endpoint("GET", f"{PREFIX}/{{id}}", get_organization, "An organization", _TAG, OrganizationOut, path_params=_ORG),
    Endpoint(
        "PATCH",
        f"{PREFIX}/{{id}}",
        update_organization,
        "Update an organization",
        _TAG,
        OrganizationOut,
        body=OrganizationUpdate,
        path_params=_ORG,
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/members",
        list_members,
        "The members and their roles",
        _TAG,
        MemberList,
        path_params=_ORG,
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}/members/{{user_id}}",
        change_member,
        "Change a member's role",
        _TAG,
        MemberOut,
        body=MemberUpdate,
        path_params=_MEMBER,
        errors=(401, 403, 404, 409),
    ),
    Endpoint(
        "DELETE",
        f"{PREFIX}/{{id}}/members/{{user_id}}",
        remove_member,
        "Remove a member",
        _TAG,
        None,
        status=204,
        path_params=_MEMBER,
        errors=(401, 403, 404, 409),
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/api-keys",
        create_api_key,
        "Create an API key (the key is shown once)",
        _TAG,
        ApiKeyCreated,
        status=201,
        body=ApiKeyCreate,
        path_params=_ORG,
        errors=(401, 403, 404, 409),
        description="409 too_many_api_keys: the organization has METERLINE_API_KEYS_PER_ORGANIZATION (default 50) "
        "active keys already; revoke one it no longer uses (revoked keys do not count).",
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/api-keys",
        list_api_keys,
        "The organization's API keys",
        _TAG,
        ApiKeyList,
        path_params=_ORG,
    ),
    Endpoint(
        "DELETE",
        f"{PREFIX}/{{id}}/api-keys/{{key_id}}",
        revoke_api_key,
        "Revoke an API key",
        _TAG,
        ApiKeyOut,
        path_params=_KEY,
    ),
]
