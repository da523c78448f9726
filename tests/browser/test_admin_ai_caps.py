"""The admin panel's AI caps and live usage (issue 17): an owner sets a member's monthly AI request cap on
/app/admin; AI requests sent through the SDK are rated by a real worker into the warehouse; the page's live usage
moves without a reload and shows the cap reached, the entitlement answer refuses that member's next AI request
(not the others'), the cap alerts are enqueued, and the change is in the audit log as a compact diff; axe-core clean.

The API and the worker share one chDB directory through a warehouse bridge of the test's own (``bridged``,
tests/browser/conftest.py), so the API reads the events the worker stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from schemas.sdk import UsageClient
from streams.store.db import database_url, make_engine, sessions
from streams.store.models import NoticeRow
from streams.topics import EVENTS
from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot
from tests.support.processes import start_worker, wait_until

pytestmark = pytest.mark.integration


def test_a_members_ai_cap_is_set_reached_refused_and_audited(
    browser: Browser, bridged: tuple[ServedApi, str], tmp_path: Path
) -> None:
    api, bridge_url = bridged
    org = api.bootstrap("Cap Co", "olga")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    for user in ("mel", "sam"):
        join(api, org, user)
    own = tmp_path / "worker"
    own.mkdir()
    worker, _ = start_worker(
        api.settings.model_copy(update={"data_dir": own}),
        own / "worker.log",
        **{"METERLINE_CLICKHOUSE_DSN": bridge_url},
    )
    try:

        def answer(user: str) -> tuple[bool, str | None]:
            r = api.call(org, "GET", f"/api/billing/entitlements/{org.id}/ai_requests?user_id={user}")
            assert r.status_code == 200, r.text
            return r.json()["allowed"], r.json()["reason"]

        page = open_app(browser, api, org, "olga")
        page.goto(f"{api.base}/app/admin")
        controls = page.get_by_role("region", name="AI controls")
        controls.get_by_label("Member").select_option("mel")
        controls.get_by_label("Request cap").fill("3")
        controls.get_by_label("When reached").select_option("hard")
        controls.get_by_role("button", name="Save AI controls").click()
        expect(controls.get_by_role("status")).to_contain_text("monthly AI cap 3 requests (hard)", timeout=20_000)
        assert answer("mel") == (True, None)

        usage = page.get_by_role("region", name="Usage by member")
        mel_row = usage.get_by_role("row", name="mel")
        expect(mel_row).to_contain_text("Within 3 requests (hard)")
        with UsageClient(api.settings.kafka_bootstrap, source="chat", topic=api.settings.topic(EVENTS)) as sdk:
            for user in ("mel", "mel", "mel", "sam"):
                sdk.record(
                    "ai_requests",
                    1,
                    user_id=user,
                    org_id=org.id,
                    event_id=str(uuid.uuid4()),
                    timestamp=datetime.now(UTC),
                    properties={"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 500},
                )
            sdk.flush()
        wait_until(lambda: answer("mel") == (False, "ai_cap_reached"), 180, "the worker to store the events", worker)
        # The page was not reloaded: the poll brings the use and the cap's state in.
        expect(mel_row).to_contain_text("Cap reached (3 requests): AI use refused", timeout=30_000)
        expect(mel_row.get_by_role("cell").nth(1)).to_have_text("3")
        expect(usage.get_by_role("row", name="sam")).to_contain_text("No cap")
        assert answer("sam") == (True, None) and answer("olga") == (True, None)

        engine = make_engine(database_url(tmp_path, None))
        try:

            def alerted() -> list[str]:
                with sessions(engine)() as s:
                    q = select(NoticeRow.key).where(NoticeRow.kind == "ai_cap_alert").order_by(NoticeRow.key)
                    return list(s.scalars(q))

            wait_until(lambda: len(alerted()) == 2, 60, "the cap watcher's alerts")
            assert [k.rsplit(":", 2)[1:] for k in alerted()] == [["requests", "100"], ["requests", "80"]]
        finally:
            engine.dispose()

        # ... and the page lists them among this period's alerts, without a reload.
        expect(page.get_by_role("region", name="Live usage by member")).to_contain_text(
            "AI cap alert: AI requests of mel at 100 % of the cap", timeout=30_000
        )
        audit = page.get_by_role("region", name="Audit log entries")
        change = audit.get_by_role("row", name="ai_controls.changed").first
        # The first controls of mel: the fields set, not the whole document.
        expect(change.get_by_role("listitem")).to_have_text(
            ["approval_required: now false", "cap_mode: now hard", "monthly_request_cap: now 3"]
        )
        # The analytics: this month's row (nothing settled yet) and the forecast's slot.
        trends = page.get_by_role("region", name="Monthly trends")
        expect(trends.get_by_role("row", name=datetime.now(UTC).strftime("%Y-%m"))).to_contain_text("/ 3")
        expect(page.get_by_role("region", name="Forecast for this period")).to_be_visible()
        assert axe_violations(page) == []
        screenshot(page, "admin-ai-caps")
    finally:
        worker.terminate()
