"""Who calls: a bearer organization API key (``mlb_...``, stored hashed) or an HS256 JWT issued by
the platform (``sub`` = user id, ``org`` = the organization the token acts in, ``exp`` required).

Roles (per organization): owners and admins manage billing; viewers read everything of their
organization; members read only their own usage (and the entitlements their apps check). Anything
of another organization is answered 404, as if it did not exist.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from streams.api.errors import ApiError
from streams.api.schemas import ID_PATTERN
from streams.settings import Settings
from streams.store import orgs
from streams.store.models import Member, Organization
from streams.store.orgs import Role

_ID = re.compile(ID_PATTERN)

MANAGE: frozenset[Role] = frozenset({"owner", "admin"})
READ_ALL: frozenset[Role] = frozenset({"owner", "admin", "viewer"})
ANY: frozenset[Role] = frozenset({"owner", "admin", "member", "viewer"})


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["api_key", "user"]
    organization_id: str | None  # the key's organization, or the token's ``org`` claim
    user_id: str | None  # the token's ``sub`` (keys act for no user)
    key_role: Role | None = None
    key_id: str | None = None

    def role_in(self, s: Session, org_id: str) -> Role | None:
        """This caller's role in ``org_id`` (None: no access at all)."""
        if self.kind == "api_key":
            return self.key_role if org_id == self.organization_id else None
        if self.organization_id is not None and self.organization_id != org_id:
            return None  # a token acts in one organization only
        assert self.user_id is not None
        m = orgs.member(s, org_id, self.user_id)
        return m.role if m is not None else None  # type: ignore[return-value]


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "unauthorized", "send 'Authorization: Bearer <API key or JWT>'", {"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def authenticate(s: Session, request: Request, jwt_secret: str | None, settings: Settings | None = None) -> Principal:
    token = _bearer(request)
    if token.startswith(f"{orgs.KEY_PREFIX}_"):
        key = orgs.authenticate_key(s, token)
        if key is None:
            raise ApiError(401, "invalid_api_key", "the API key is unknown, malformed or revoked")
        return Principal("api_key", key.organization_id, None, key.role, key.key_id)
    if not jwt_secret:
        raise ApiError(401, "invalid_token", "JWTs are not accepted here (METERLINE_API_JWT_SECRET is not set)")
    issuer = settings.api_jwt_issuer if settings is not None else None
    audience = settings.api_jwt_audience if settings is not None else None
    required = ["sub", "exp"] + (["iss"] if issuer else []) + (["aud"] if audience else [])
    try:
        claims = jwt.decode(
            token, jwt_secret, algorithms=["HS256"], issuer=issuer, audience=audience, options={"require": required}
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(401, "token_expired", "the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, "invalid_token", f"the token is not valid: {exc}") from exc
    if settings is not None and settings.api_jwt_max_lifetime_seconds:
        _check_lifetime(claims, settings.api_jwt_max_lifetime_seconds)
    sub, org = claims.get("sub"), claims.get("org")
    if not isinstance(sub, str) or not sub or (org is not None and not isinstance(org, str)):
        raise ApiError(401, "invalid_token", "the token's 'sub' (and 'org', if any) must be strings")
    # The ids end up in length-limited columns (PostgreSQL refuses what SQLite would silently keep).
    if not _ID.fullmatch(sub) or (org is not None and not _ID.fullmatch(org)):
        raise ApiError(401, "invalid_token", "the token's 'sub' (and 'org', if any) must be ids of 1-128 characters")
    return Principal("user", org, sub)


def _check_lifetime(claims: dict[str, object], max_seconds: int) -> None:
    """A token may live at most ``max_seconds``: from ``iat`` when given, else from now (as ``exp`` is
    checked, by the wall clock), so a stolen long-lived token is refused."""
    exp, iat = claims["exp"], claims.get("iat")
    start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else time.time()
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp - start > max_seconds:
        raise ApiError(401, "invalid_token", f"the token lives longer than the {max_seconds} s allowed")


def require_role(s: Session, who: Principal, org_id: str, allowed: Iterable[Role]) -> Role:
    """The caller's role in ``org_id`` if it is one of ``allowed``; 404 outside it, 403 inside."""
    role = who.role_in(s, org_id) if s.get(Organization, org_id) is not None else None
    if role is None:
        raise ApiError(404, "not_found", f"no organization {org_id}")
    if role not in set(allowed):
        raise ApiError(403, "forbidden", f"the role {role} may not do this")
    return role


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """How the caller may see a billing account (an organization, or a user of one)."""

    account_id: str
    organization_id: str | None  # the organization the account is, or belongs to (None: the caller)
    role: Role | None
    is_self: bool

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL


def account_access(s: Session, who: Principal, account: str) -> AccountAccess:
    """The caller's view of ``account``; 404 when the caller has none."""
    if s.get(Organization, account) is not None:
        role = who.role_in(s, account)
        if role is None:
            raise ApiError(404, "not_found", f"no account {account}")
        return AccountAccess(account, account, role, False)
    is_self = who.user_id is not None and who.user_id == account
    orgs_of_caller = [who.organization_id] if who.organization_id else []
    if not orgs_of_caller and who.user_id is not None:
        orgs_of_caller = [m.organization_id for m in _memberships(s, who.user_id)]
    for org_id in orgs_of_caller:
        if orgs.member(s, org_id, account) is not None:
            role = who.role_in(s, org_id)
            if role is not None and (is_self or role in READ_ALL):
                return AccountAccess(account, org_id, role, is_self)
            if role is not None:
                raise ApiError(403, "forbidden", f"the role {role} reads only its own usage")
    if is_self:
        return AccountAccess(account, None, None, True)
    raise ApiError(404, "not_found", f"no account {account}")


def _memberships(s: Session, user_id: str) -> list[Member]:
    return list(s.scalars(select(Member).where(Member.user_id == user_id)))
