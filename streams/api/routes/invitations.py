"""Invitations: the only way to become a member of an organization (README, "The billing API").

Owners and admins invite a platform user id (``/organizations/{id}/invitations``: create, list, resend,
revoke); only that user, with their own token (JWT ``sub`` = the invited id, no ``org`` claim), accepts or
declines it (``/invitations/{id}/accept|decline``). Anyone else asking about an invitation gets 404, whatever
id they hold. Only an owner invites an owner; an organization is never a member.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from streams.api.audit import audit_change
from streams.api.auth import MANAGE, Principal, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import INVITATION_ID_PATTERN, ORG_ID_PATTERN, InvitationCreate, InvitationList, InvitationOut
from streams.api.routes.orgs import PREFIX, conflict, owner_only
from streams.api.routing import Call, Endpoint
from streams.store import invitations
from streams.store.models import Invitation, Organization
from streams.store.orgs import StoreConflict

MINE = "/api/billing/invitations"


def _out(s: Session, inv: Invitation, call: Call) -> InvitationOut:
    org = s.get(Organization, inv.organization_id)
    assert org is not None
    return InvitationOut(
        id=inv.id,
        organization_id=inv.organization_id,
        organization_name=org.name,
        user_id=inv.user_id,
        email=inv.email,
        role=inv.role,  # type: ignore[arg-type]
        status=invitations.state(inv, call.ctx.clock()),
        invited_by=inv.invited_by,
        created_at=inv.created_at,
        expires_at=inv.expires_at,
        responded_at=inv.responded_at,
    )


def _ttl(call: Call) -> timedelta:
    return timedelta(days=call.ctx.settings.api_invitation_ttl_days)


def _most(call: Call) -> int:
    return call.ctx.settings.api_pending_invitations_per_organization


def _inviter(who: Principal) -> str:
    # Prefixed both ways: a user id may itself contain ':'.
    return f"user:{who.user_id}" if who.user_id is not None else f"key:{who.key_id}"


def create_invitation(call: Call) -> InvitationOut:
    body: InvitationCreate = call.body
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        role = require_role(s, who, call.path["id"], MANAGE)
        owner_only(role, body.role)
        try:
            inv = invitations.create(
                s,
                call.path["id"],
                body.user_id,
                body.role,
                body.email,
                _inviter(who),
                now,
                now + _ttl(call),
                most=_most(call),
            )
        except StoreConflict as exc:
            raise conflict(exc) from exc
        audit_change(call, s, who, inv.organization_id, "member.invited", target=inv.user_id, after=_audited(inv))
        return _out(s, inv, call)


def _audited(inv: Invitation) -> dict[str, object]:
    return {"invitation": inv.id, "role": inv.role, "email": inv.email, "expires_at": inv.expires_at.isoformat()}


def list_invitations(call: Call) -> InvitationList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], MANAGE)
        return InvitationList(invitations=[_out(s, i, call) for i in invitations.for_organization(s, call.path["id"])])


def _managed(s: Session, call: Call) -> tuple[Principal, Invitation]:
    who = caller(call, s)
    role = require_role(s, who, call.path["id"], MANAGE)
    inv = invitations.get(s, call.path["id"], call.path["invitation_id"])
    if inv is None:
        raise ApiError(404, "not_found", f"no invitation {call.path['invitation_id']}")
    owner_only(role, inv.role)
    return who, inv


def revoke_invitation(call: Call) -> InvitationOut:
    with call.ctx.sessions.begin() as s:
        who, inv = _managed(s, call)
        try:
            invitations.revoke(s, inv, call.ctx.clock())
        except StoreConflict as exc:
            raise conflict(exc) from exc
        audit_change(
            call, s, who, inv.organization_id, "member.invitation_revoked", target=inv.user_id, before=_audited(inv)
        )
        return _out(s, inv, call)


def resend_invitation(call: Call) -> InvitationOut:
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who, inv = _managed(s, call)
        before = _audited(inv)
        try:
            invitations.resend(s, inv, now, now + _ttl(call), most=_most(call))
        except StoreConflict as exc:
            raise conflict(exc) from exc
        audit_change(
            call,
            s,
            who,
            inv.organization_id,
            "member.invitation_resent",
            target=inv.user_id,
            before=before,
            after=_audited(inv),
        )
        return _out(s, inv, call)


def _personal(who: Principal, what: str) -> str:
    """The user id of a personal token (a user's JWT without ``org``): joining an organization is the
    person's own act, not one of a key or of a token acting in some organization."""
    if who.kind != "user" or who.user_id is None or who.organization_id is not None:
        raise ApiError(403, "forbidden", f"{what} with your own token (a JWT without an 'org' claim)")
    return who.user_id


def my_invitations(call: Call) -> InvitationList:
    with call.ctx.sessions() as s:
        user = _personal(caller(call, s), "list your invitations")
        return InvitationList(invitations=[_out(s, i, call) for i in invitations.for_user(s, user)])


def _addressed(s: Session, call: Call, what: str) -> tuple[Principal, Invitation]:
    who = caller(call, s)
    inv = s.get(Invitation, call.path["invitation_id"])
    if inv is None or who.kind != "user" or inv.user_id != who.user_id:
        raise ApiError(404, "not_found", f"no invitation {call.path['invitation_id']}")
    _personal(who, what)
    return who, inv


def accept_invitation(call: Call) -> InvitationOut:
    try:
        with call.ctx.sessions.begin() as s:
            who, inv = _addressed(s, call, "accept an invitation")
            try:
                member = invitations.accept(s, inv, call.ctx.clock())
            except StoreConflict as exc:
                raise conflict(exc) from exc
            if member is not None:
                audit_change(
                    call,
                    s,
                    who,
                    inv.organization_id,
                    "member.joined",
                    target=member.user_id,
                    after={"role": member.role, "invitation": inv.id},
                )
                return _out(s, inv, call)
    except IntegrityError as exc:  # another invitation of the same person accepted at the same time
        raise ApiError(409, "member_exists", "you already are a member of this organization") from exc
    # Committed as revoked: it stays closed whoever asks again.
    raise ApiError(409, "invitation_revoked", f"invitation {inv.id} was revoked: whoever invited you may no longer")


def decline_invitation(call: Call) -> InvitationOut:
    with call.ctx.sessions.begin() as s:
        _, inv = _addressed(s, call, "decline an invitation")
        try:
            invitations.decline(s, inv, call.ctx.clock())
        except StoreConflict as exc:
            raise conflict(exc) from exc
        return _out(s, inv, call)


_TAG = "organizations"
_ORG = {"id": ORG_ID_PATTERN}
_ONE = {"id": ORG_ID_PATTERN, "invitation_id": INVITATION_ID_PATTERN}
_MINE = {"invitation_id": INVITATION_ID_PATTERN}
_ERR = (401, 403, 404, 409)

ENDPOINTS = [
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/invitations",
        create_invitation,
        "Invite a platform user (owners and admins; only an owner invites an owner)",
        _TAG,
        InvitationOut,
        status=201,
        body=InvitationCreate,
        path_params=_ORG,
        errors=_ERR,
        description="Nobody becomes a member without accepting: the invited user accepts with their own token "
        "(POST /api/billing/invitations/{invitation_id}/accept) before expires_at (METERLINE_API_INVITATION_TTL_DAYS, "
        "default 7). 409 member_exists, invitation_exists (a pending one: resend or revoke it), not_a_user (this "
        "organization's own id). Other ids are not checked (the platform keeps no list of users, and another "
        "organization's id is answered as any other): an invitation to an id that is no person's waits unaccepted "
        "until it expires; revoke it and invite the right id. 409 too_many_invitations: the organization has "
        "METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION (default 200) pending invitations already; revoke some "
        "or let them expire (accepted, declined, revoked and expired ones do not count).",
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/invitations",
        list_invitations,
        "The organization's invitations, newest first (owners and admins)",
        _TAG,
        InvitationList,
        path_params=_ORG,
    ),
    Endpoint(
        "DELETE",
        f"{PREFIX}/{{id}}/invitations/{{invitation_id}}",
        revoke_invitation,
        "Revoke a pending invitation",
        _TAG,
        InvitationOut,
        path_params=_ONE,
        errors=_ERR,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/invitations/{{invitation_id}}/resend",
        resend_invitation,
        "Give a pending (or expired) invitation a new expiry",
        _TAG,
        InvitationOut,
        path_params=_ONE,
        errors=_ERR,
        description="An expired invitation made pending again counts as a new one: 409 too_many_invitations when "
        "the organization has METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION pending already.",
    ),
    Endpoint(
        "GET",
        MINE,
        my_invitations,
        "The invitations addressed to the calling user (their own token, without 'org')",
        _TAG,
        InvitationList,
        errors=(401, 403),
    ),
    Endpoint(
        "POST",
        f"{MINE}/{{invitation_id}}/accept",
        accept_invitation,
        "Accept an invitation addressed to you: you become a member with its role",
        _TAG,
        InvitationOut,
        path_params=_MINE,
        errors=_ERR,
        description="Only the invited user, with their own token (JWT sub = the invited user id, no 'org' claim); "
        "anyone else gets 404. 409 invitation_expired, invitation_accepted, invitation_declined, "
        "invitation_revoked (also when whoever invited no longer may grant the role), member_exists.",
    ),
    Endpoint(
        "POST",
        f"{MINE}/{{invitation_id}}/decline",
        decline_invitation,
        "Decline an invitation addressed to you",
        _TAG,
        InvitationOut,
        path_params=_MINE,
        errors=_ERR,
    ),
]
