"""The web app's sign-in (docs/web-app-server.md) on the real app and store: a one-time link whose page (GET, used
up by nothing: link scanners prefetch) has a button that POSTs it to /app/login for an
HttpOnly, SameSite=Strict session cookie that authenticates as the user's JWT would; CSRF on
writes; sign-out; expiry; the host platform's link; and attackers (a reused, expired or forged link, a write
without the CSRF token, another organization's member, a viewer, a stolen session id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from streams.api.web_session import CSRF_COOKIE, SESSION_COOKIE
from streams.store import web_sessions
from tests.support.api import Api

pytestmark = pytest.mark.integration

ORGS = "/api/billing/organizations"


def _link(api: Api, user: str, org: str | None = None) -> str:
    with api.ctx.sessions.begin() as s:
        link = web_sessions.create_link(s, user, org, "test", api.clock(), timedelta(minutes=15))
    return link.token


async def test_link_opens_a_cookie_session_once(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga", members={"vic": "viewer"})
        token = _link(api, "olga", org)
        # Opening the link (and a mail scanner prefetching it, twice) shows the button and uses nothing up.
        for _ in range(2):
            page = await api.client.get(f"/app/login?token={token}")
            assert page.status_code == 200 and '<form method="post" action="/app/login">' in page.text
            assert f'name="token" value="{token}"' in page.text
            assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
            assert not page.headers.get_list("set-cookie")
        r = await api.client.post("/app/login", data={"token": token})
        assert r.status_code == 303 and r.headers["location"] == "/app/"
        assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
        cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
        assert "httponly" in cookies[SESSION_COOKIE] and "samesite=strict" in cookies[SESSION_COOKIE]
        assert "secure" not in cookies[SESSION_COOKIE]  # http://127.0.0.1: the browser would drop a Secure one
        assert "httponly" not in cookies[CSRF_COOKIE]  # the app's script reads it (double submit)
        # The session acts as olga's JWT with org: her organization is readable.
        me = (await api.client.get("/api/billing/session")).json()
        assert me["user_id"] == "olga" and me["organization_id"] == org and me["account_id"] == org
        assert me["csrf_token"] == api.client.cookies[CSRF_COOKIE]
        assert (await api.client.get(f"{ORGS}/{org}")).json()["id"] == org
        # The same link again, in another browser: refused (its page says so too), and no cookie.
        api.client.cookies.clear()
        again = await api.client.post("/app/login", data={"token": token})
        assert again.status_code == 401 and "used already" in again.text
        assert not again.headers.get_list("set-cookie")
        assert "default-src 'self'" in again.headers["content-security-policy"]
        page = await api.client.get(f"/app/login?token={token}")
        assert page.status_code == 401 and "used already" in page.text and "<form" not in page.text


async def test_a_login_posted_from_another_site_is_refused(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        token = _link(api, "mallory")
        # Another site's page posting its own link would sign the victim's browser in as mallory (login CSRF).
        r = await api.client.post("/app/login", data={"token": token}, headers={"origin": "https://evil.example"})
        assert r.status_code == 403 and SESSION_COOKIE not in api.client.cookies
        r = await api.client.post(
            "/app/login", data={"token": token}, headers={"origin": "null", "sec-fetch-site": "cross-site"}
        )
        assert r.status_code == 403 and SESSION_COOKIE not in api.client.cookies
        # The link is not used up by the refusal; from the API's own page it works.
        own = {"origin": api.settings.api_public_url.rstrip("/")}
        r = await api.client.post("/app/login", data={"token": token}, headers=own)
        assert r.status_code == 303, r.text


async def test_expired_and_forged_links(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        token = _link(api, "pat")
        api.clock.advance(timedelta(minutes=16))
        r = await api.client.post("/app/login", data={"token": token})
        assert r.status_code == 401 and "expired" in r.text
        assert "expired" in (await api.client.get(f"/app/login?token={token}")).text
        assert (await api.client.post("/app/login", data={"token": "forged-token"})).status_code == 401
        assert (await api.client.get("/app/login?token=forged-token")).status_code == 401
        assert (await api.client.get("/app/login")).status_code == 400
        assert (await api.client.post("/app/login")).status_code == 400
        assert (await api.client.get("/app/login?token=" + "x" * 500)).status_code == 400
        assert (await api.client.post("/app/login", data={"token": "x" * 2000})).status_code == 400
        assert SESSION_COOKIE not in api.client.cookies


async def test_writes_need_the_csrf_token(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga")
        csrf = await api.sign_in("olga", org)
        body = {"name": "Renamed"}
        r = await api.client.patch(f"{ORGS}/{org}", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        r = await api.client.patch(f"{ORGS}/{org}", json=body, headers={"x-csrf-token": csrf[:-2] + "xx"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        assert (await api.client.get(f"{ORGS}/{org}")).json()["name"] == "Acme"
        r = await api.client.patch(f"{ORGS}/{org}", json=body, headers={"x-csrf-token": csrf})
        assert r.status_code == 200 and r.json()["name"] == "Renamed"
        # A bearer token is used alone: the cookie neither helps nor needs CSRF then.
        r = await api.client.patch(f"{ORGS}/{org}", json={"name": "Again"}, headers=api.as_user("olga", org))
        assert r.status_code == 200


async def test_logout_and_expiry(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga")
        csrf = await api.sign_in("olga", org)
        stolen = api.client.cookies[SESSION_COOKIE]
        assert (await api.client.post("/api/billing/session/logout")).status_code == 403  # no CSRF: not signed out
        r = await api.client.post("/api/billing/session/logout", headers={"x-csrf-token": csrf})
        assert r.status_code == 204
        assert SESSION_COOKIE not in api.client.cookies
        # The old cookie value (kept by a thief) is dead too.
        r = await api.client.get(f"{ORGS}/{org}", cookies={SESSION_COOKIE: stolen})
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"
        await api.sign_in("olga", org)
        api.clock.advance(timedelta(seconds=api.settings.api_session_ttl_seconds + 1))
        r = await api.client.get(f"{ORGS}/{org}")
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"


async def test_session_gets_no_more_than_the_users_token(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga", members={"vic": "viewer"})
        other = await api.org("mallory", name="Other")
        # Another organization's owner, signed in: this organization does not exist for them.
        await api.sign_in("mallory", other)
        assert (await api.client.get(f"{ORGS}/{org}")).status_code == 404
        # mallory's session acting in her own organization cannot reach olga's by changing the id either.
        api.client.cookies.clear()
        await api.sign_in("mallory")
        assert (await api.client.get(f"{ORGS}/{org}")).status_code == 404
        # A viewer reads, but may not write even with the CSRF token.
        api.client.cookies.clear()
        csrf = await api.sign_in("vic", org)
        assert (await api.client.get(f"{ORGS}/{org}")).status_code == 200
        r = await api.client.patch(f"{ORGS}/{org}", json={"name": "x"}, headers={"x-csrf-token": csrf})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        # A session id made up or stolen from nowhere: nothing.
        api.client.cookies.clear()
        r = await api.client.get(f"{ORGS}/{org}", cookies={SESSION_COOKIE: "guessed-session-id"})
        assert r.status_code == 401
        assert (await api.client.get("/api/billing/session")).status_code == 401


async def test_host_platform_link(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga")
        r = await api.client.post("/api/billing/login-links", headers=api.as_user("olga", org))
        assert r.status_code == 201, r.text
        url = r.json()["url"]
        assert url.startswith(api.settings.api_public_url + "/app/login?token=")
        # An API key acts for no person; an operator token and the session itself cannot mint links.
        key = await api.key(org, "olga", "admin")
        assert (await api.client.post("/api/billing/login-links", headers=key)).status_code == 403
        assert (await api.client.post("/api/billing/login-links", headers=api.as_operator())).status_code == 403
        token = url.removeprefix(api.settings.api_public_url + "/app/login?token=")
        assert (await api.client.get(url.removeprefix(api.settings.api_public_url))).status_code == 200
        login = await api.client.post("/app/login", data={"token": token})
        assert login.status_code == 303
        me = (await api.client.get("/api/billing/session")).json()
        assert (me["user_id"], me["organization_id"]) == ("olga", org)
        r = await api.client.post("/api/billing/login-links", headers={"x-csrf-token": me["csrf_token"]})
        assert r.status_code == 403
