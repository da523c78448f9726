"""Browser tests: the built app in Debian's Chromium against the real API and stack (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from streams.settings import Settings
from tests.support.browser import CHROMIUM, DIST, ServedApi, chromium, served_api


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
