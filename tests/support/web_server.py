"""The billing API as a real process serving a built web app (``METERLINE_API_WEB_DIST``), for browser tests:
``with web_api(settings, tmp_path, dist) as server``: ``server.base`` is its address, ``server.login_link(user,
org)`` a one-time sign-in link made by ``meterline api login-link`` (docs/web-app-server.md)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from streams.settings import Settings
from tests.support.api import JWT_SECRET, WEBHOOK_SECRET
from tests.support.processes import Proc, free_port, settings_env, wait_for_api


@dataclass
class WebServer:
    base: str
    env: dict[str, str]
    proc: Proc

    def login_link(self, user: str, org: str | None = None) -> str:
        args = ["api", "login-link", "--user", user, "--json", *(["--org", org] if org else [])]
        out = subprocess.run(
            [sys.executable, "-m", "streams.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        url: str = json.loads(out.stdout)["url"]
        return url


def sign_in(client: httpx.Client, link: str) -> httpx.Response:
    """Open a login link as a browser does: its page (GET, which uses nothing up), then its "Sign in" button
    (``POST /app/login`` with the token); returns the POST's answer (303 to /app/ when it worked)."""
    page = client.get(link)
    assert page.status_code == 200 and '<button type="submit">Sign in</button>' in page.text, page.text
    token = parse_qs(urlsplit(link).query)["token"][0]
    return client.post("/app/login", data={"token": token})


def write_dist(dist: Path, title: str = "Meterline test app") -> Path:
    """A minimal built app (an index.html and one hashed asset), for tests that do not build ``web/``."""
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "assets" / "app-0123abcd.js").write_text("document.title = 'loaded';\n", encoding="utf-8")
    (dist / "index.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<script type="module" src="/app/assets/app-0123abcd.js"></script></head>'
        '<body><div id="root"></div></body></html>',
        encoding="utf-8",
    )
    return dist


@contextlib.contextmanager
def web_api(settings: Settings, data_dir: Path, dist: Path, **env: str) -> Iterator[WebServer]:
    """``meterline api serve`` on a free port with the web app of ``dist``, the test JWT and webhook secrets,
    its store in ``data_dir`` (or ``METERLINE_API_DATABASE_URL`` in ``env``); stopped on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    full_env = settings_env(
        settings.model_copy(update={"data_dir": data_dir}),
        METERLINE_API_WEB_DIST=str(dist),
        METERLINE_API_PUBLIC_URL=base,
        METERLINE_API_JWT_SECRET=JWT_SECRET,
        METERLINE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        **env,
    )
    proc = Proc(["api", "serve", "--port", str(port)], full_env, data_dir / "api.log")
    try:
        wait_for_api(base, proc)
        yield WebServer(base, full_env, proc)
    finally:
        proc.terminate()
