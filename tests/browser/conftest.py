"""Browser tests: the built app in Debian's Chromium against the real API and stack (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from deploy.local.warehouse import Warehouse
from streams.settings import Settings
from tests.support.browser import CHROMIUM, DIST, ServedApi, chromium, served_api
from tests.support.processes import free_port
from tests.support.web_server import web_api


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    if not (DIST / "index.html").exists():
        pytest.fail("web/dist is not built: `make web`")
    with chromium() as b:
        yield b


@pytest.fixture
def api(stack_settings: Settings, tmp_path: Path) -> Iterator[ServedApi]:
    with served_api(stack_settings, tmp_path) as served:
        yield served


@pytest.fixture
def bridged(stack_settings: Settings, tmp_path: Path) -> Iterator[tuple[ServedApi, str]]:
    """The served API on a chDB directory a warehouse bridge serves (started first), and the bridge's URL."""
    bridge = Warehouse(data_dir=tmp_path, chdb_path=tmp_path / "clickhouse", port=free_port())
    bridge.start(timeout=60)
    try:
        s = stack_settings.model_copy(update={"data_dir": tmp_path})
        with web_api(s, tmp_path, DIST, METERLINE_AI_CAP_CHECK_SECONDS="1") as server:
            yield (
                ServedApi(base=server.base, env=server.env, server=server, settings=s),
                f"http://127.0.0.1:{bridge.port}",
            )
    finally:
        bridge.stop()
