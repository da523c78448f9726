"""The web app's session (docs/web-app-server.md): a one-time login link exchanged for a cookie.

The cookie ``meterline_session`` (HttpOnly, SameSite=Strict, Secure when the API's public address is https)
names a row of ``web_sessions``; the caller it authenticates is exactly the ``Principal`` the user's JWT
would give (same ``sub`` and ``org``), so every authorization check is the existing one. Writes made with
the cookie must echo the session's CSRF token in ``X-CSRF-Token`` (double submit: the token is also in the
readable cookie ``meterline_csrf`` and in ``GET /api/billing/session``). A request with an ``Authorization``
header is authenticated by it alone: the cookie is ignored, and a bearer token is not sent by browsers on
their own, so it needs no CSRF token.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from streams.api.auth import Principal
from streams.api.errors import ApiError
from streams.settings import Settings
from streams.store import web_sessions
from streams.store.models import WebSessionRow

SESSION_COOKIE = "meterline_session"
CSRF_COOKIE = "meterline_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def has_session_cookie(request: Request) -> bool:
    return "authorization" not in request.headers and SESSION_COOKIE in request.cookies


def session_of(s: Session, request: Request, now: datetime) -> WebSessionRow:
    """The live session of the request's cookie, its CSRF token checked on writes; 401/403 otherwise."""
    row = web_sessions.live_session(s, request.cookies.get(SESSION_COOKIE, ""), now)
    if row is None:
        raise ApiError(401, "session_expired", "the session has expired or was signed out: sign in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), row.csrf_token.encode()):
            raise ApiError(
                403, "csrf_failed", f"a write with the session cookie must send its CSRF token in {CSRF_HEADER}"
            )
    return row


def session_principal(s: Session, request: Request, now: datetime) -> Principal:
    row = session_of(s, request, now)
    # As the user's JWT with the same sub and org: never an operator (that claim is the platform's alone).
    return Principal("user", row.organization_id, row.user_id, via_session=True)


def secure_cookies(settings: Settings) -> bool:
    return settings.api_public_url.lower().startswith("https://")


def set_session_cookies(resp: Response, session: web_sessions.NewSession, settings: Settings) -> None:
    age = settings.api_session_ttl_seconds
    secure = secure_cookies(settings)
    resp.set_cookie(
        SESSION_COOKIE, session.session_id, max_age=age, path="/", httponly=True, secure=secure, samesite="strict"
    )
    # Readable by the app's script (double submit); worthless without the HttpOnly session cookie.
    resp.set_cookie(
        CSRF_COOKIE, session.csrf_token, max_age=age, path="/", httponly=False, secure=secure, samesite="strict"
    )


def clear_session_cookies(resp: Response, settings: Settings) -> None:
    secure = secure_cookies(settings)
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        resp.delete_cookie(name, path="/", httponly=http_only, secure=secure, samesite="strict")


def link_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.api_login_link_ttl_seconds)


def session_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.api_session_ttl_seconds)


def login_url(settings: Settings, token: str) -> str:
    return f"{settings.api_public_url.rstrip('/')}/app/login?token={token}"
