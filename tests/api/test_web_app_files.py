"""The built web app under /app/ (streams/api/web_app.py): files of METERLINE_API_WEB_DIST, the SPA fallback to
index.html, the Content-Security-Policy that allows Stripe.js only, no path outside the dist directory, a plain
503 page when the app is not built; and the real ``meterline api serve`` process with a dist (the browser tests'
harness, tests/support/web_server.py) signing in by ``meterline api login-link``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.settings import Settings
from tests.support.web_server import sign_in, web_api, write_dist

pytestmark = pytest.mark.integration


async def test_files_fallback_and_csp(make_api: Callable[..., Any], tmp_path: Path) -> None:
    dist = write_dist(tmp_path / "dist")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    async with make_api(api_web_dist=dist) as api:
        r = await api.client.get("/app/")
        assert r.status_code == 200 and "Meterline test app" in r.text
        csp = r.headers["content-security-policy"]
        assert "script-src 'self' https://js.stripe.com;" in csp and "frame-src https://js.stripe.com" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
        deep = await api.client.get("/app/invoices/in_acme_2026-11")  # a client-side route
        assert deep.status_code == 200 and deep.text == r.text
        js = await api.client.get("/app/assets/app-0123abcd.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert "immutable" in js.headers["cache-control"]
        assert (await api.client.get("/app/assets/missing-1234.js")).status_code == 404
        for bad in ("/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/..%2fsecret.txt"):
            assert "outside" not in (await api.client.get(bad)).text
        moved = await api.client.get("/app")
        assert moved.status_code == 308 and moved.headers["location"] == "/app/"


async def test_not_built(make_api: Callable[..., Any], tmp_path: Path) -> None:
    async with make_api(api_web_dist=tmp_path / "nothing") as api:
        r = await api.client.get("/app/")
        assert r.status_code == 503 and "npm run build" in r.text


def test_serve_process_with_dist_and_cli_link(stack_settings: Settings, tmp_path: Path) -> None:
    dist = write_dist(tmp_path / "dist")
    with web_api(stack_settings, tmp_path, dist) as server, httpx.Client(base_url=server.base, timeout=10) as c:
        assert "Meterline test app" in c.get("/app/").text
        url = server.login_link("pat")
        r = sign_in(c, url)
        assert r.status_code == 303 and r.headers["location"] == "/app/"
        assert "Meterline test app" in c.get("/app/").text
        assert c.get("/api/billing/session").json()["user_id"] == "pat"
        assert c.get(url).status_code == 401  # used once
