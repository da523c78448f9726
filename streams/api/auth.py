"""Who calls: a bearer organization API key (``mlb_...``, stored hashed) or an HS256 JWT issued by
the platform (``sub`` = user id, ``org`` = the organization the token acts in, ``exp`` required).

Roles (per organization): owners and admins manage billing; viewers read everything of their
organization; members read only their own share of its usage (and the entitlements their apps check).
A person's own account is theirs alone (their token without ``org``): membership never reaches it.
Platform operators (a platform JWT with ``"meterline_operator": true``) write enterprise contracts
(docs/security.md, "Platform operators"); the claim gives nothing else.
Anything of another organization or person is answered 404, as if it did not exist (``account_access``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import jwt
from sqlalchemy.orm import Session
from starlette.requests import Request

from streams.api.errors import ApiError
from streams.api.models import ID_PATTERN
from streams.api.roles import roles_with
from streams.settings import Settings
from streams.store import orgs
from streams.store.models import Organization
from streams.store.orgs import Role

_ID = re.compile(ID_PATTERN)

# The role sets endpoints check, from the one table of what each role may do (streams/api/roles.py).
MANAGE: frozenset[Role] = roles_with("billing.manage")
READ_ALL: frozenset[Role] = roles_with("billing.read")
ANY: frozenset[Role] = roles_with("usage.own")
OWNERS: frozenset[Role] = roles_with("owners.manage")


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["api_key", "user"]
    organization_id: str | None  # the key's organization, or the token's ``org`` claim
    user_id: str | None  # the token's ``sub`` (keys act for no user)
    key_role: Role | None = None
    key_id: str | None = None
    operator: bool = False  # a platform operator (JWT claim ``meterline_operator``): writes contracts only
    via_session: bool = False  # the web app's session cookie (streams/api/web_session.py), not a bearer token

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
    # Only the platform mints these tokens (the shared secret): an API key can never be an operator.
    return Principal("user", org, sub, operator=claims.get("meterline_operator") is True)


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
    """How the caller may see a billing account: an organization it acts in, or its own personal account."""

    account_id: str
    organization_id: str | None  # the organization the account is (None: the caller's personal account)
    role: Role | None  # the caller's role in it (None: the personal account)
    is_self: bool  # the caller's own personal account

    @property
    def reads_all(self) -> bool:
        return self.is_self or self.role in READ_ALL

    @property
    def manages(self) -> bool:
        return self.is_self or self.role in MANAGE


def is_own_account(who: Principal, account: str) -> bool:
    """Whether ``account`` is the caller's personal account, as the caller's own token presents it: a JWT
    whose ``sub`` it is, without ``org`` (a token acting in an organization reaches that organization only)."""
    return who.kind == "user" and who.organization_id is None and who.user_id == account


def account_access(s: Session, who: Principal, account: str) -> AccountAccess:
    """The one place that decides which billing accounts a caller may reach (404 for any other):

    - an organization's account: a caller acting in it (its API key, a token whose ``org`` is it, or a member's
      token without ``org``), with its role there;
    - a person's account: that person only, with their own token without ``org``. Membership of an
      organization gives access to the organization's billing, never to a member's personal account (their
      usage in the organization is the organization's usage, read there with ``user_id``).
    """
    if s.get(Organization, account) is not None:
        role = who.role_in(s, account)
        if role is None:
            raise ApiError(404, "not_found", f"no account {account}")
        return AccountAccess(account, account, role, False)
    if is_own_account(who, account):
        return AccountAccess(account, None, None, True)
    raise ApiError(404, "not_found", f"no account {account}")
