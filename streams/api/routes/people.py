"""Roles and ownership: ``GET /api/billing/roles`` (what each role may do, the table authorization uses) and
``POST /api/billing/organizations/{id}/transfer-ownership`` (owners only)."""

from __future__ import annotations

from streams.api.audit import audit_change
from streams.api.auth import OWNERS, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN, MemberList
from streams.api.people_models import OwnershipTransfer, PermissionOut, RoleOut, RoleTable
from streams.api.roles import PERMISSIONS, ROLES, permissions_of
from streams.api.routes.orgs import PREFIX, conflict, list_members
from streams.api.routing import Call, Endpoint
from streams.store import orgs
from streams.store.orgs import StoreConflict


def role_table(call: Call) -> RoleTable:
    with call.ctx.sessions() as s:
        caller(call, s)  # any authenticated caller: the table is the same for every organization
    return RoleTable(
        roles=[RoleOut(role=r, permissions=permissions_of(r)) for r in ROLES],
        permissions=[
            PermissionOut(name=p.name, description=p.description, roles=[r for r in ROLES if r in p.roles])
            for p in PERMISSIONS
        ],
    )


def transfer_ownership(call: Call) -> MemberList:
    body: OwnershipTransfer = call.body
    org_id = call.path["id"]
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, org_id, OWNERS)  # outsiders 404, admins and the rest 403, before the lock
        orgs.lock_organization(s, org_id)
        require_role(s, who, org_id, OWNERS)  # again under the lock: another owner may have demoted this one
        if who.user_id is None:
            raise ApiError(403, "forbidden", "ownership is transferred by an owner's own token, not an API key")
        if body.user_id == who.user_id:
            raise ApiError(409, "already_owner", "you already are an owner")
        new = orgs.member(s, org_id, body.user_id)
        if new is None:
            raise ApiError(404, "not_found", f"{body.user_id} is not a member of {org_id}")
        me = orgs.member(s, org_id, who.user_id)
        assert me is not None
        before = {"owner": who.user_id, "new_owner_role": new.role}
        try:
            orgs.change_role(s, new, "owner")
            if not body.stay_owner:
                orgs.change_role(s, me, "admin")
        except StoreConflict as exc:
            raise conflict(exc) from exc
        after = {"owner": body.user_id, "previous_owner_role": me.role}
        audit_change(call, s, who, org_id, "ownership.transferred", target=body.user_id, before=before, after=after)
    return list_members(call)


ENDPOINTS = [
    Endpoint("GET", "/api/billing/roles", role_table, "What each organization role may do", "organizations", RoleTable),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/transfer-ownership",
        transfer_ownership,
        "Make a member an owner; the caller becomes an admin unless stay_owner (owners only)",
        "organizations",
        MemberList,
        body=OwnershipTransfer,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 409),
    ),
]
