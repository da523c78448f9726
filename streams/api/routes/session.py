"""The web app's session endpoints (docs/web-app-server.md): the host platform's login link, the session's
CSRF token, sign-out. The exchange of a link for the cookie is ``POST /app/login`` (streams/api/web_app.py)."""

from __future__ import annotations

from starlette.responses import Response

from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import LoginLinkOut, SessionOut
from streams.api.routing import Call, Endpoint
from streams.api.web_session import (
    SESSION_COOKIE,
    clear_session_cookies,
    has_session_cookie,
    link_ttl,
    login_url,
    session_of,
)
from streams.store import web_sessions

PREFIX = "/api/billing/session"


def create_login_link(call: Call) -> LoginLinkOut:
    """The host platform turns its user's JWT into a link that signs the browser in as that user (same ``sub``
    and ``org``): a bearer JWT only, never an API key (it acts for no person) nor the session itself."""
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        if who.kind != "user" or who.via_session or who.user_id is None:
            raise ApiError(403, "forbidden", "a login link is made from a user's own platform JWT only")
        if who.operator:
            raise ApiError(403, "forbidden", "an operator's token cannot sign in to the web app")
        if who.organization_id is not None and who.role_in(s, who.organization_id) is None:
            # A session for an organization its user is not in would reach nothing, but its sign-in would be
            # written to that organization's audit log: answered as everywhere else, as if it did not exist.
            raise ApiError(404, "not_found", f"no organization {who.organization_id}")
        link = web_sessions.create_link(
            s, who.user_id, who.organization_id, f"user:{who.user_id}", now, link_ttl(call.ctx.settings)
        )
    return LoginLinkOut(url=login_url(call.ctx.settings, link.token), expires_at=link.expires_at)


def _require_cookie(call: Call) -> None:
    if not has_session_cookie(call.request):
        raise ApiError(401, "unauthorized", "no web app session: sign in with a login link")


def get_session(call: Call) -> SessionOut:
    _require_cookie(call)
    with call.ctx.sessions() as s:
        row = session_of(s, call.request, call.ctx.clock())
        return SessionOut(
            user_id=row.user_id,
            organization_id=row.organization_id,
            account_id=row.organization_id or row.user_id,
            csrf_token=row.csrf_token,
            expires_at=row.expires_at,
        )


def logout(call: Call) -> Response:
    _require_cookie(call)
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        session_of(s, call.request, now)  # the CSRF token: another site cannot sign the person out
        web_sessions.close_session(s, call.request.cookies.get(SESSION_COOKIE, ""), now)
    resp = Response(status_code=204)
    clear_session_cookies(resp, call.ctx.settings)
    return resp


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/billing/login-links",
        create_login_link,
        "A one-time link signing the browser in to the web app as the token's user (host platform)",
        "web app",
        LoginLinkOut,
        status=201,
        errors=(401, 403, 404),
        description="Send the user's platform JWT (sub, and org to act in an organization: 404 unless the user is "
        "a member of it); redirect the browser to the answer's url. The link works once, within "
        "METERLINE_API_LOGIN_LINK_TTL_SECONDS.",
    ),
    Endpoint(
        "GET",
        PREFIX,
        get_session,
        "The web app session of the cookie: who it acts as and its CSRF token",
        "web app",
        SessionOut,
        errors=(401,),
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/logout",
        logout,
        "Sign the web app session out (send X-CSRF-Token)",
        "web app",
        None,
        status=204,
        errors=(401, 403),
    ),
]
