"""The admin panel's live usage by server-sent events (issue 17 item 2): AI requests and API calls sent through the
SDK are rated by a real worker into ``billing.quota-state`` and stored into the warehouse; the organization's
figures, the member's row and the provisional usage per metric move on /app/admin without a reload, pushed by
``GET /organizations/{id}/usage/stream`` ("Updated as usage changes."); a second browser whose stream is cut polls
instead and says so, with the time its figures were read; axe-core clean.

The API and the worker share one chDB directory through a warehouse bridge (``bridged``, conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from schemas.sdk import UsageClient
from streams.topics import EVENTS
from tests.support.browser import ServedApi, axe_violations, join, open_app, screenshot
from tests.support.processes import start_worker, wait_until

pytestmark = pytest.mark.integration


def test_admin_live_usage_moves_by_the_stream(browser: Browser, bridged: tuple[ServedApi, str], tmp_path: Path) -> None:
    api, bridge_url = bridged
    org = api.bootstrap("Live Admin Co", "olga")
    assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
    join(api, org, "mel")
    own = tmp_path / "worker"
    own.mkdir()
    worker, _ = start_worker(
        api.settings.model_copy(update={"data_dir": own}), own / "worker.log", METERLINE_CLICKHOUSE_DSN=bridge_url
    )
    try:
        page = open_app(browser, api, org, "olga")
        page.goto(f"{api.base}/app/admin")
        live = page.get_by_role("region", name="Live usage by member")
        expect(live.get_by_text("Updated as usage changes.", exact=False)).to_be_visible(timeout=30_000)
        mel_row = live.get_by_role("region", name="Usage by member").get_by_role("row", name="mel")
        expect(mel_row.get_by_role("cell").nth(1)).to_have_text("0")

        # A second browser whose stream is cut (a proxy that drops it) polls instead, and says so.
        polled = open_app(browser, api, org, "olga")
        polled.context.route("**/usage/stream", lambda route: route.abort())
        polled.goto(f"{api.base}/app/admin")
        polled_live = polled.get_by_role("region", name="Live usage by member")
        expect(polled_live.get_by_text("the live update stream is not connected", exact=False)).to_be_visible(
            timeout=30_000
        )

        with UsageClient(api.settings.kafka_bootstrap, source="chat", topic=api.settings.topic(EVENTS)) as sdk:
            for metric, quantity in (("ai_requests", 1), ("ai_requests", 1), ("api_calls", 40)):
                sdk.record(
                    metric,
                    quantity,
                    user_id="mel",
                    org_id=org.id,
                    event_id=str(uuid.uuid4()),
                    timestamp=datetime.now(UTC),
                    properties={"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 500}
                    if metric == "ai_requests"
                    else {},
                )
            sdk.flush()

        def rated() -> bool:
            q = api.quota(org.id)
            return all(m in q and Decimal(str(q[m]["used"])) == n for m, n in (("ai_requests", 2), ("api_calls", 40)))

        wait_until(rated, 180, "the worker to rate the events into billing.quota-state", worker)
        # Not reloaded: the stream brings the member's row, the organization's figures and the quota usage in.
        expect(mel_row.get_by_role("cell").nth(1)).to_have_text("2", timeout=30_000)
        expect(mel_row.get_by_role("cell").nth(5)).to_have_text("40")
        expect(live.locator("dt:has-text('AI requests') + dd")).to_have_text("2")
        provisional = page.get_by_role("region", name="Provisional and settled usage")
        expect(provisional.get_by_role("row", name="API calls").get_by_role("cell").first).to_have_text("40")
        pooled = live.get_by_role("region", name="Usage per metric").get_by_role("row", name="API calls")
        expect(pooled.get_by_role("cell").first).to_have_text("40")
        expect(live.get_by_text("Updated as usage changes.", exact=False)).to_be_visible()
        # ... and the cut one by its poll, with the time its figures were read.
        polled_row = polled_live.get_by_role("region", name="Usage by member").get_by_role("row", name="mel")
        expect(polled_row.get_by_role("cell").nth(1)).to_have_text("2", timeout=30_000)
        expect(polled_live.get_by_text("as of", exact=False).first).to_be_visible()
        assert axe_violations(page) == []
        live.scroll_into_view_if_needed()
        screenshot(page, "admin-live-usage-stream")
    finally:
        worker.terminate()
