"""The browser tests' harness: the real billing API as a process serving the built app (web/dist) under
``/app/`` (tests/support/web_server.py), signed in by a real one-time link (``meterline api login-link``), and
Debian's Chromium driven by Playwright (``executable_path``; no browser is downloaded)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from streams.settings import Settings
from tests.support.processes import Proc, free_port, start_worker, wait_until
from tests.support.web_server import WebServer, web_api

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ROOT / "reports" / "browser"
PHONE = {"width": 390, "height": 844}  # a common phone (iPhone 12-15)
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Org:
    id: str
    api_key: str


@dataclass
class ServedApi:
    base: str
    env: dict[str, str]
    server: WebServer
    settings: Settings

    def worker(self) -> Proc:
        """A real worker on the API's topics, rating what the API records into billing.quota-state (its own
        data dir: an embedded chDB directory is one process's; with a shared warehouse, it writes there)."""
        own = self.settings.data_dir / "worker"
        own.mkdir(exist_ok=True)
        shared = {k: v for k, v in self.env.items() if k == "METERLINE_CLICKHOUSE_DSN"}
        proc, _ = start_worker(self.settings.model_copy(update={"data_dir": own}), own / "worker.log", **shared)
        # Ready before the test records anything: these tests are about the pages; records sent while a worker
        # starts are tests/e2e/test_live_rating_startup.py's (a worker used to lose some, streams/kafka/polling.py).
        log = own / "worker.log"
        ready = ("[^Worker]: Ready", "live rating started")
        started = lambda: all(m in log.read_text(errors="replace") for m in ready)  # noqa: E731 - one condition
        wait_until(started, 120, "the worker to be ready", proc)
        return proc

    def cli(self, *args: str) -> str:
        """``meterline ARGS`` with the API's settings (its store, topics and warehouse); its output."""
        out = subprocess.run(
            [sys.executable, "-m", "streams.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

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
        out = self.cli("api", "bootstrap", "--name", name, "--owner", owner, "--json")
        boot = json.loads(out)
        return Org(id=boot["organization_id"], api_key=boot["api_key"])

    def call(self, org: Org, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {org.api_key}"}
        return httpx.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=30)

    def record(self, org: Org, user: str, metric: str, quantity: int, times: int) -> None:
        """``times`` events of ``quantity`` each, now, through ``POST /api/billing/usage/record``."""
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "org_id": org.id,
                "user_id": user,
                "metric": metric,
                "quantity": quantity,
                "timestamp": now,
            }
            for _ in range(times)
        ]
        r = self.call(org, "POST", "/api/billing/usage/record", {"events": events})
        assert r.status_code == 200, r.text

    def wait_rated(self, org: Org, metric: str, used: int, worker: Proc) -> None:
        """Until the worker has rated ``metric`` of ``org`` to ``used`` in billing.quota-state (quota show)."""

        def rated() -> bool:
            q = self.quota(org.id).get(metric)
            return q is not None and Decimal(str(q["used"])) == used

        wait_until(rated, 180, "the worker to rate the events into billing.quota-state", worker)


def join(api: ServedApi, org: Org, user: str) -> None:
    """``user`` invited into ``org`` by its key and accepting with their own token: a member."""
    r = api.call(org, "POST", f"/api/billing/organizations/{org.id}/invitations", {"user_id": user, "role": "member"})
    assert r.status_code == 201, r.text
    r = httpx.post(
        f"{api.base}/api/billing/invitations/{r.json()['id']}/accept",
        headers={"authorization": f"Bearer {user_token(user)}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


@contextmanager
def served_api(settings: Settings, data_dir: Path, **env: str) -> Iterator[ServedApi]:
    """``meterline api serve`` on a free port with its own data dir (SQLite store) and the built app."""
    s = settings.model_copy(update={"data_dir": data_dir})
    with web_api(s, data_dir, DIST, **env) as server:
        yield ServedApi(base=server.base, env=server.env, server=server, settings=s)


@contextmanager
def shared_warehouse(home: Path) -> Iterator[str]:
    """A warehouse bridge (deploy/local/warehouse.py) serving a chDB directory of its own over HTTP, so the API,
    a worker and ``meterline settle`` read and write one warehouse; yields its DSN. Stopped on exit."""
    from deploy.local.warehouse import Warehouse

    bridge = Warehouse(data_dir=home, chdb_path=home / "clickhouse", port=free_port())
    bridge.start(timeout=120)
    try:
        yield f"http://127.0.0.1:{bridge.port}"
    finally:
        bridge.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_app(browser: Browser, api: ServedApi, org: Org | None, user: str, viewport: dict[str, int] = DESKTOP) -> Page:
    """A fresh browser context signed in by a one-time link as ``user`` acting in ``org`` (None: the person's own
    account), on the dashboard."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(api.server.login_link(user, org.id if org else None))
    page.get_by_role("button", name="Sign in").click()  # the link's page POSTs the token: a GET uses nothing up
    page.wait_for_url(f"{api.base}/app/")
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations axe-core finds on the page as it is."""
    # Evaluated through the driver, not as a <script>: the API's CSP rightly refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def clipped_tables(page: Page) -> list[str]:
    """The labels of the page's scrolling tables (``TableWrap``) wider than their box: at desktop width a table
    that hides columns off to the side reads as cut off."""
    script = (
        "() => [...document.querySelectorAll('.table-wrap')]"
        ".filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.getAttribute('aria-label'))"
    )
    labels: list[str] = page.evaluate(script)
    return labels


def user_token(user: str) -> str:
    """The platform JWT of ``user`` without ``org``: the person acting for their own account."""
    import time

    import jwt

    from tests.support.api import JWT_SECRET

    return jwt.encode({"sub": user, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")


def page_width(page: Page) -> int:
    """How wide the document is laid out: more than the viewport means the page scrolls sideways."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def phone_checked(page: Page, name: str) -> Path:
    """A page at phone width as it should be: nothing scrolls it sideways, no serious accessibility violation;
    its screenshot."""
    assert page_width(page) <= PHONE["width"], f"{page.url} scrolls sideways at phone width"
    assert axe_violations(page) == []
    return screenshot(page, name)


def screenshot(page: Page, name: str) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out
