"""The browser tests' harness: the real billing API as a process, the built app (web/dist), and Debian's
Chromium driven by Playwright (``executable_path``; no browser is downloaded).

Until the API serves ``/app/`` and cookie sessions (the sign-in work of issue 16, web-api), the page reaches
the app and the API as follows, each step a stand-in for one missing piece and nothing more:
``/app/*`` is answered from ``web/dist`` (what the API will serve), the org's API key rides as a bearer header
(what the session cookie will carry), and ``/api/billing/session`` names the key's organization (what the
session endpoint will answer). Every other request goes to the real API, which decides what is visible."""

from __future__ import annotations

import json
import mimetypes
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Route, sync_playwright

from streams.settings import Settings
from tests.support.processes import Proc, free_port, settings_env, start_worker, wait_until

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ROOT / "reports" / "browser"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Org:
    id: str
    api_key: str


@dataclass
class ServedApi:
    base: str
    env: dict[str, str]
    proc: Proc
    settings: Settings

    def worker(self) -> Proc:
        """A real worker on the API's topics, rating what the API records into billing.quota-state (its own
        data dir: an embedded chDB directory is one process's)."""
        own = self.settings.data_dir / "worker"
        own.mkdir(exist_ok=True)
        proc, _ = start_worker(self.settings.model_copy(update={"data_dir": own}), own / "worker.log")
        return proc

    def quota(self, account: str) -> dict[str, dict[str, Any]]:
        """``meterline quota show --account A --json``: the quota state per metric ({} until there is one)."""
        out = subprocess.run(
            [sys.executable, "-m", "streams.cli.main", "quota", "show", "--account", account, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if out.returncode != 0:
            return {}
        return {q["metric"]: q for q in json.loads(out.stdout)["quotas"]}

    def bootstrap(self, name: str, owner: str) -> Org:
        """A new organization and its owner's API key, made by the real command."""
        out = subprocess.run(
            [sys.executable, "-m", "streams.cli.main", "api", "bootstrap", "--name", name, "--owner", owner, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        boot = json.loads(out.stdout)
        return Org(id=boot["organization_id"], api_key=boot["api_key"])

    def call(self, org: Org, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {org.api_key}"}
        return httpx.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=30)


@contextmanager
def served_api(settings: Settings, data_dir: Path) -> Iterator[ServedApi]:
    """``meterline api serve`` on a free port with its own data dir (SQLite store)."""
    s = settings.model_copy(update={"data_dir": data_dir})
    env = settings_env(s, METERLINE_STRIPE_WEBHOOK_SECRET="whsec_browser_test")
    env.pop("METERLINE_API_DATABASE_URL", None)
    port = free_port()
    proc = Proc(["api", "serve", "--port", str(port)], env, data_dir / "api.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/billing/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, 60, "the API to answer", proc)
        yield ServedApi(base=base, env=env, proc=proc, settings=s)
    finally:
        proc.terminate()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _serve_dist(route: Route) -> None:
    path = route.request.url.split("/app/", 1)[1].split("?", 1)[0]
    file = DIST / path
    if not path or not file.is_file():
        file = DIST / "index.html"  # the single-page app's fallback
    mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=file.read_bytes(), headers={"content-type": mime})


def open_app(browser: Browser, api: ServedApi, org: Org, user: str, viewport: dict[str, int] = DESKTOP) -> Page:
    """A page signed in as ``user`` acting in ``org`` (see the module's note on the stand-ins)."""
    context = browser.new_context(viewport=viewport, extra_http_headers={"authorization": f"Bearer {org.api_key}"})
    page = context.new_page()
    page.route(f"{api.base}/app/**", _serve_dist)
    session = {"user_id": user, "organization_id": org.id}
    page.route(
        f"{api.base}/api/billing/session",
        lambda route: route.fulfill(status=200, json=session),
    )
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations axe-core finds on the page as it is."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def screenshot(page: Page, name: str) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out
