"""Invitations to organizations: the only way into one (besides ``meterline api bootstrap``, an operator's
act). An admin or owner invites a platform user id; only that user, with their own JWT, accepts or declines;
an invitation is used once and expires (``METERLINE_API_INVITATION_TTL_DAYS``; README, "The billing API")."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Update, func, select, update
from sqlalchemy.orm import Session

from streams.store import orgs
from streams.store.models import ApiKeyRow, Invitation, Member
from streams.store.orgs import Role, StoreConflict

State = Literal["pending", "accepted", "declined", "revoked", "expired"]
#: ``invited_by`` of an invitation made by an operator (``meterline api invite``), like the bootstrap's owner.
OPERATOR = "operator:cli"


def new_invitation_id() -> str:
    # 128 random bits; the id alone accepts nothing (the invitee's own token must name the invited user).
    return f"inv_{secrets.token_hex(16)}"


def state(inv: Invitation, now: datetime) -> State:
    if inv.status == "pending" and inv.expires_at <= now:
        return "expired"
    return inv.status  # type: ignore[return-value]


def for_organization(s: Session, org_id: str) -> list[Invitation]:
    q = select(Invitation).where(Invitation.organization_id == org_id)
    return list(s.scalars(q.order_by(Invitation.created_at.desc(), Invitation.id)))


def for_user(s: Session, user_id: str) -> list[Invitation]:
    q = select(Invitation).where(Invitation.user_id == user_id)
    return list(s.scalars(q.order_by(Invitation.created_at.desc(), Invitation.id)))


def get(s: Session, org_id: str, invitation_id: str) -> Invitation | None:
    inv = s.get(Invitation, invitation_id)
    return inv if inv is not None and inv.organization_id == org_id else None


def _pending(s: Session, org_id: str, now: datetime) -> int:
    q = select(func.count()).select_from(Invitation).where(Invitation.organization_id == org_id)
    return s.scalar(q.where(Invitation.status == "pending", Invitation.expires_at > now)) or 0


def _check_room(s: Session, org_id: str, now: datetime, most: int | None) -> None:
    """Refuse one more pending invitation beyond ``most`` (``METERLINE_API_PENDING_INVITATIONS_PER_ORGANIZATION``),
    so that no admin fills the store; accepted, declined, revoked and expired ones do not count."""
    if most is None:
        return
    orgs.lock_organization(s, org_id)  # two invitations at once cannot both take the last place
    if _pending(s, org_id, now) >= most:
        raise StoreConflict(
            "too_many_invitations",
            f"this organization has {most} pending invitations, the most allowed: revoke one, or wait until one "
            "is accepted, declined or expires",
        )


def create(
    s: Session,
    org_id: str,
    user_id: str,
    role: Role,
    email: str | None,
    invited_by: str,
    now: datetime,
    expires_at: datetime,
    *,
    most: int | None = None,
) -> Invitation:
    """A pending invitation; ``most``: the pending invitations the organization may have (None: no cap)."""
    # An organization is never a member, but only its own id (or an operator, who sees every organization) is
    # told so: another organization's id is invited as any id nobody holds (there is no list of users), so that
    # the answer reveals no other tenant; such an invitation is accepted by nobody (``accept``) and expires.
    if (user_id == org_id or invited_by == OPERATOR) and orgs.is_organization(s, user_id):
        raise StoreConflict("not_a_user", f"{user_id} is an organization, never a member: invite a person's user id")
    if orgs.member(s, org_id, user_id) is not None:
        raise StoreConflict("member_exists", f"{user_id} already is a member of {org_id}")
    for other in s.scalars(
        select(Invitation).where(
            Invitation.organization_id == org_id, Invitation.user_id == user_id, Invitation.status == "pending"
        )
    ):
        if state(other, now) == "pending":
            raise StoreConflict(
                "invitation_exists", f"{user_id} already has pending invitation {other.id} (resend or revoke it)"
            )
    _check_room(s, org_id, now, most)
    inv = Invitation(
        id=new_invitation_id(),
        organization_id=org_id,
        user_id=user_id,
        email=email,
        role=role,
        status="pending",
        invited_by=invited_by,
        created_at=now,
        expires_at=expires_at,
    )
    s.add(inv)
    s.flush()
    return inv


def _write(s: Session, q: Update) -> int:
    """Rows changed by a conditional update (the ORM objects are refreshed by the caller)."""
    result = cast(CursorResult[Any], s.execute(q, execution_options={"synchronize_session": False}))
    return int(result.rowcount)


def _close(s: Session, inv: Invitation, status: str, now: datetime, *, unexpired: bool) -> bool:
    """Move a pending invitation to ``status`` in one conditional write: of two requests racing (accept and
    revoke, or two accepts), exactly one succeeds."""
    q = update(Invitation).where(Invitation.id == inv.id, Invitation.status == "pending")
    if unexpired:
        q = q.where(Invitation.expires_at > now)
    done = _write(s, q.values(status=status, responded_at=now))
    s.refresh(inv)
    return done == 1


def _still_entitled(s: Session, inv: Invitation) -> bool:
    """Whether whoever invited still may grant the role: an invitation of an admin who lost the role (or of a
    key since revoked) grants nothing."""
    kind, _, who = inv.invited_by.partition(":")
    if kind == "operator":
        return True
    if kind == "key":
        key = s.get(ApiKeyRow, who)
        return key is not None and key.revoked_at is None and key.role == "admin" and inv.role != "owner"
    m = orgs.member(s, inv.organization_id, who) if kind == "user" else None
    return m is not None and (m.role == "owner" or (m.role == "admin" and inv.role != "owner"))


def accept(s: Session, inv: Invitation, now: datetime) -> Member | None:
    """Make the invited user a member (the caller has checked that the invited user is the one asking).
    None: the invitation was void (whoever invited no longer may grant its role) and is now revoked; the caller
    commits that and refuses."""
    current = state(inv, now)
    if current != "pending":
        raise StoreConflict(f"invitation_{current}", f"invitation {inv.id} is {current}: ask for a new one")
    if orgs.is_organization(s, inv.user_id):
        raise StoreConflict("not_a_user", f"{inv.user_id} is an organization: an organization is never a member")
    if not _still_entitled(s, inv):
        _close(s, inv, "revoked", now, unexpired=False)
        return None
    if not _close(s, inv, "accepted", now, unexpired=True):
        raise StoreConflict(f"invitation_{state(inv, now)}", f"invitation {inv.id} is no longer pending")
    return orgs.add_member(s, inv.organization_id, inv.user_id, inv.role, now)  # type: ignore[arg-type]


def decline(s: Session, inv: Invitation, now: datetime) -> None:
    if not _close(s, inv, "declined", now, unexpired=True):
        current = state(inv, now)
        raise StoreConflict(f"invitation_{current}", f"invitation {inv.id} is {current}")


def revoke(s: Session, inv: Invitation, now: datetime) -> None:
    """Revoke a pending invitation (expired or not); revoking a revoked one changes nothing."""
    if inv.status == "revoked":
        return
    if not _close(s, inv, "revoked", now, unexpired=False):
        raise StoreConflict(f"invitation_{inv.status}", f"invitation {inv.id} is {inv.status}: nothing to revoke")


def resend(s: Session, inv: Invitation, now: datetime, expires_at: datetime, *, most: int | None = None) -> None:
    """A new expiry for a pending invitation (expired or not): the invitee may accept it until then. An expired
    one pending again counts against ``most`` as a new invitation would."""
    if inv.status != "pending":
        raise StoreConflict(f"invitation_{inv.status}", f"invitation {inv.id} is {inv.status}: invite again")
    if orgs.member(s, inv.organization_id, inv.user_id) is not None:
        raise StoreConflict("member_exists", f"{inv.user_id} already is a member of {inv.organization_id}")
    if state(inv, now) == "expired":
        _check_room(s, inv.organization_id, now, most)
    q = update(Invitation).where(Invitation.id == inv.id, Invitation.status == "pending")
    if _write(s, q.values(expires_at=expires_at)) != 1:
        s.refresh(inv)
        raise StoreConflict(f"invitation_{inv.status}", f"invitation {inv.id} is {inv.status}: invite again")
    s.refresh(inv)
