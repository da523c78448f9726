"""Organizations, their members and their API keys (stored hashed, revocable).

A key is ``mlb_<key id>_<secret>``; only the SHA-256 of the 256-bit secret is kept (a slow hash adds
nothing against a random secret of that size), compared in constant time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from streams.key_format import new_key, parse_key, secret_matches
from streams.store import memberships
from streams.store.models import ApiKeyRow, Member, Organization

Role = Literal["owner", "admin", "member", "viewer"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member", "viewer")
KEY_ROLES: tuple[Role, ...] = ("admin", "member", "viewer")
KEY_PREFIX = "mlb"
#: Roles that create API keys; a key stops working when its creator holds none of them any more.
KEY_MANAGERS: frozenset[Role] = frozenset({"owner", "admin"})


class StoreConflict(Exception):
    """The change would break an invariant (the last owner, a duplicate member); ``code`` names it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def create_organization(
    s: Session, name: str, owner: str | None, now: datetime, email: str | None = None
) -> Organization:
    if owner is not None and is_organization(s, owner):
        raise StoreConflict("not_a_user", f"{owner} is an organization: an organization is never a member")
    org = Organization(id=new_id("org"), name=name, billing_email=email, created_at=now, updated_at=now)
    s.add(org)
    s.flush()
    if owner is not None:
        s.add(Member(organization_id=org.id, user_id=owner, role="owner", created_at=now))
        memberships.joined(s, org.id, owner, now)
    return org


def is_organization(s: Session, account_id: str) -> bool:
    return s.get(Organization, account_id) is not None


def lock_organization(s: Session, org_id: str) -> None:
    """Serialize membership changes of ``org_id`` until the transaction ends, so an invariant checked after
    this (the last owner) holds against concurrent requests: PostgreSQL locks the organization's row
    (``SELECT ... FOR NO KEY UPDATE``; later statements see what the previous holder committed), SQLite takes its
    database write lock (the first write of a transaction; the database has one writer at a time). Objects
    loaded before are expired, so roles are read again under the lock."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(
            update(Organization).where(Organization.id == org_id).values(name=Organization.name),
            execution_options={"synchronize_session": False},
        )
    else:
        # FOR NO KEY UPDATE: orders membership changes without holding up rows that merely reference the
        # organization (a new subscription or key takes a key-share lock on it).
        s.execute(select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True))
    s.expire_all()


def members(s: Session, org_id: str) -> list[Member]:
    return list(s.scalars(select(Member).where(Member.organization_id == org_id).order_by(Member.id)))


def member(s: Session, org_id: str, user_id: str) -> Member | None:
    return s.scalar(select(Member).where(Member.organization_id == org_id, Member.user_id == user_id))


def _owners(s: Session, org_id: str) -> int:
    n = s.scalar(select(func.count()).where(Member.organization_id == org_id, Member.role == "owner"))
    return int(n or 0)


def add_member(s: Session, org_id: str, user_id: str, role: Role, now: datetime) -> Member:
    if member(s, org_id, user_id) is not None:
        raise StoreConflict("member_exists", f"{user_id} already is a member of {org_id}")
    m = Member(organization_id=org_id, user_id=user_id, role=role, created_at=now)
    s.add(m)
    memberships.joined(s, org_id, user_id, now)
    s.flush()
    return m


def change_role(s: Session, m: Member, role: Role) -> Member:
    if m.role == "owner" and role != "owner" and _owners(s, m.organization_id) <= 1:
        raise StoreConflict("last_owner", "an organization keeps at least one owner: add another owner first")
    m.role = role
    return m


def remove_member(s: Session, m: Member, now: datetime) -> None:
    """Removes the member; the membership history keeps that they were one until ``now``."""
    if m.role == "owner" and _owners(s, m.organization_id) <= 1:
        raise StoreConflict("last_owner", "an organization keeps at least one owner: add another owner first")
    memberships.left(s, m.organization_id, m.user_id, now)
    s.delete(m)


@dataclass(frozen=True, slots=True)
class KeyPrincipal:
    key_id: str
    organization_id: str
    role: Role


def create_api_key(
    s: Session,
    org_id: str,
    name: str,
    role: Role,
    now: datetime,
    created_by: str | None = None,
    *,
    most: int | None = None,
) -> tuple[ApiKeyRow, str]:
    """A new key; returns the row and the plain key (shown once, never stored). ``created_by``: the user
    whose owner or admin role the key depends on (see ``authenticate_key``). ``most``: the active keys the
    organization may have (``METERLINE_API_KEYS_PER_ORGANIZATION``), so that no admin fills the store."""
    if most is not None:
        lock_organization(s, org_id)  # two creations at once cannot both take the last place
        if _live_keys(s, org_id) >= most:
            raise StoreConflict(
                "too_many_api_keys",
                f"this organization has {most} active API keys, the most allowed: revoke one it no longer uses "
                "(DELETE /api/billing/organizations/{id}/api-keys/{key_id})",
            )
    new = new_key(KEY_PREFIX, 8)
    row = ApiKeyRow(
        id=new.key_id,
        organization_id=org_id,
        name=name,
        role=role,
        secret_sha256=new.secret_sha256,
        created_at=now,
        created_by=created_by,
    )
    s.add(row)
    s.flush()
    return row, new.plain


def _live_keys(s: Session, org_id: str) -> int:
    q = select(func.count()).select_from(ApiKeyRow)
    return s.scalar(q.where(ApiKeyRow.organization_id == org_id, ApiKeyRow.revoked_at.is_(None))) or 0


def api_keys(s: Session, org_id: str) -> list[ApiKeyRow]:
    return list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.organization_id == org_id).order_by(ApiKeyRow.created_at)))


def authenticate_key(s: Session, presented: str) -> KeyPrincipal | None:
    """The live key matching ``presented``, or None (unknown, malformed or revoked)."""
    parsed = parse_key(KEY_PREFIX, presented)
    if parsed is None:
        return None
    row = s.get(ApiKeyRow, parsed[0])
    if row is None or row.revoked_at is not None:
        return None
    if not secret_matches(row.secret_sha256, parsed[1]):
        return None
    role = row.role
    if role not in KEY_ROLES:
        return None
    if row.created_by is not None:
        # A key lives no longer than its creator's right to make it: demoted or gone, the key stops.
        creator = member(s, row.organization_id, row.created_by)
        if creator is None or creator.role not in KEY_MANAGERS:
            return None
    return KeyPrincipal(row.id, row.organization_id, role)  # type: ignore[arg-type]
