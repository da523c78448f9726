"""The web app under ``/app/`` (docs/web.md, docs/web-app-server.md): the built files of ``web/dist``
(``METERLINE_API_WEB_DIST``) with the SPA fallback (any path without a file is the app's ``index.html``), a
strict Content-Security-Policy that still lets Stripe.js and its frames in, and ``/app/login``: the link opens a
page (GET, which uses nothing up: mail scanners prefetch links) whose "Sign in" button POSTs the one-time token,
exchanged there for the session cookie."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streams.api.errors import ApiError
from streams.api.limits import ApiLimits, check_failures, client_address, count_failure
from streams.api.web_session import session_ttl, set_session_cookies
from streams.settings import Settings
from streams.store import audit, web_sessions

#: Stripe's documented CSP for Stripe.js and Elements (js.stripe.com scripts and frames, api.stripe.com calls).
#: Styles allow inline: Elements and the chart library set style attributes; scripts never run inline.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://js.stripe.com",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https://*.stripe.com",
        "font-src 'self'",
        "connect-src 'self' https://api.stripe.com",
        "frame-src https://js.stripe.com https://hooks.stripe.com",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
_NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
_REFUSED = {
    "unknown": "This sign-in link is not valid.",
    "used": "This sign-in link was used already: each link signs in once.",
    "expired": "This sign-in link has expired.",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f7f7f8;color:#1a1a1a;margin:0;padding:0 1rem}"
    "main{max-width:32rem;margin:3rem auto;padding:1.5rem;background:#fff;border:1px solid #ddd;border-radius:6px}"
    "h1{font-size:1.4rem;margin-top:0}button{font:inherit;padding:.5rem 1rem;border-radius:4px;"
    "border:1px solid #1f4fd6;background:#1f4fd6;color:#fff;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1f4fd6;outline-offset:2px}"
)
#: A login form body is one token; anything much larger is not one.
_FORM_LIMIT = 1024


def default_dist() -> Path:
    return Path(__file__).resolve().parents[2] / "web" / "dist"


def _page(status: int, title: str, text: str, extra: str = "") -> HTMLResponse:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</main></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **_NO_STORE})


def _sign_in_form(token: str) -> HTMLResponse:
    """The page a link opens: the token goes on only when the person presses the button (a POST)."""
    form = (
        '<form method="post" action="/app/login">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        '<button type="submit">Sign in</button></form>'
    )
    return _page(200, "Sign in to Meterline billing", "Press the button to sign in with this link.", form)


def _same_origin(request: Request, settings: Settings) -> bool:
    """A login form posted from this site (or by a client that sends neither header): another site cannot sign a
    browser in to an account of its choosing (login CSRF). The sign-in page sends no referrer, so its own POST
    carries ``Origin: null``; ``Sec-Fetch-Site`` still says where it came from."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    public = urlsplit(settings.api_public_url)
    return origin in (f"{request.url.scheme}://{request.url.netloc}", f"{public.scheme}://{public.netloc}")


def _inside(dist: Path, rel: str) -> Path | None:
    """The file ``rel`` of ``dist``, or None (no such file, or outside ``dist``)."""
    try:
        path = (dist / rel).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(dist) or not path.is_file():
        return None
    return path


def web_routes(
    settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime], limits: ApiLimits
) -> list[BaseRoute]:
    dist = (settings.api_web_dist or default_dist()).resolve()

    def throttled(request: Request) -> Response | None:
        """A sign-in token is a credential: an address that failed too often lately waits (docs/security.md)."""
        try:
            check_failures(limits, request, clock().timestamp())
        except ApiError as exc:
            page = _page(429, "Sign-in failed", "Too many failed sign-ins from this address: try again later.")
            page.headers.update(exc.headers or {})
            return page
        return None

    def refused(request: Request, why: str) -> Response:
        count_failure(limits, request, clock().timestamp())
        return _page(401, "Sign-in failed", _REFUSED[why] + " Ask for a new one.")

    def exchange(token: str, request: Request) -> web_sessions.NewSession | str:
        now = clock()
        with sessions.begin() as s:
            link = web_sessions.consume_link(s, token, now)
            if isinstance(link, str):
                return link
            new = web_sessions.open_session(s, link.user_id, link.organization_id, now, session_ttl(settings))
            if link.organization_id is not None:  # a sign-in to an organization's billing app and admin panel
                origin = audit.Origin(
                    f"user:{link.user_id}", client_address(request), request.headers.get("user-agent")
                )
                audit.record(s, link.organization_id, origin, "session.signed_in", now, target=link.user_id)
            return new

    def refusal(token: str) -> web_sessions.LinkRefusal | None:
        with sessions() as s:
            return web_sessions.link_refusal(s, token, clock())

    async def login_page(request: Request) -> Response:
        if (wait := throttled(request)) is not None:
            return wait
        token = request.query_params.get("token", "")
        if not token or len(token) > 128:
            return _page(400, "Sign-in failed", _REFUSED["unknown"])
        why = await anyio.to_thread.run_sync(refusal, token)
        if why is not None:
            return refused(request, why)
        return _sign_in_form(token)

    async def login(request: Request) -> Response:
        if not _same_origin(request, settings):
            return _page(403, "Sign-in failed", "A sign-in is accepted only from this site's own sign-in page.")
        if (wait := throttled(request)) is not None:
            return wait
        body = await request.body()
        form = parse_qs(body[:_FORM_LIMIT].decode("utf-8", "replace")) if len(body) <= _FORM_LIMIT else {}
        token = (form.get("token") or [""])[0]
        if not token or len(token) > 128:
            return _page(400, "Sign-in failed", _REFUSED["unknown"])
        result = await anyio.to_thread.run_sync(exchange, token, request)
        if isinstance(result, str):
            return refused(request, result)
        resp = RedirectResponse("/app/", status_code=303, headers=_NO_STORE)
        set_session_cookies(resp, result, settings)
        return resp

    async def app_root(_: Request) -> Response:
        return RedirectResponse("/app/", status_code=308)

    async def serve(request: Request) -> Response:
        rel = str(request.path_params.get("path", ""))
        index = dist / "index.html"
        if not index.is_file():
            return _page(
                503,
                "The web app is not built",
                f"Build it (npm ci && npm run build in web/) or set METERLINE_API_WEB_DIST; {dist} has no index.html.",
            )
        found = _inside(dist, rel) if rel else None
        if found is not None:
            # Vite's hashed assets never change; everything else is looked at again.
            cache = "public, max-age=31536000, immutable" if rel.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={**SECURITY_HEADERS, "cache-control": cache})
        if rel.startswith("assets/"):
            return _page(404, "Not found", f"no file {rel}")
        return FileResponse(index, media_type="text/html", headers={**SECURITY_HEADERS, "cache-control": "no-cache"})

    return [
        Route("/app/login", login_page, methods=["GET"]),
        Route("/app/login", login, methods=["POST"]),
        Route("/app", app_root, methods=["GET", "HEAD"]),
        Route("/app/{path:path}", serve, methods=["GET", "HEAD"]),
    ]
