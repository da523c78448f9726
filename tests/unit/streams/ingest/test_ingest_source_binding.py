"""HTTP ingest binds an event's source to the key that sends it (docs/events.md): an event naming
another source is refused, and no ingest key can be made for the billing API's ``api:`` namespaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.decode import DecodeLimits
from streams.ingest.http import create_ingest_app
from streams.ingest.keys import ApiKeyError, ApiKeyStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("source", ["api:org_0123456789abcdef", "api:user:u-1", "api:"])
def test_no_ingest_key_for_the_billing_api_namespaces(tmp_path: Path, source: str) -> None:
    with pytest.raises(ApiKeyError, match="reserved"):
        ApiKeyStore(tmp_path / "keys.json").create(source, NOW)


async def test_an_event_of_another_source_is_refused(tmp_path: Path) -> None:
    keys = ApiKeyStore(tmp_path / "keys.json")
    _, plain = keys.create("chat", NOW)
    forwarded: list[dict[str, Any]] = []

    class Recorder:
        async def send(self, events: list[dict[str, Any]]) -> None:
            forwarded.extend(events)

    app = create_ingest_app(keys, Recorder(), DecodeLimits(), clock=lambda: NOW)
    base = {
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "user_id": "u-1",
        "org_id": "org_0123456789abcdef",
        "metric": "ai_requests",
        "quantity": 250,
    }
    events = [
        {**base, "event_id": "chat-req-42"},
        {**base, "event_id": "chat-req-43", "source": "api:org_0123456789abcdef"},
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as c:
        r = await c.post("/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 200, r.text
    assert [(x["event_id"], x["status"], x.get("reason")) for x in r.json()["results"]] == [
        ("chat-req-42", "accepted", None),
        ("chat-req-43", "rejected", "source_mismatch"),
    ]
    assert [(e["event_id"], e["source"]) for e in forwarded] == [("chat-req-42", "chat")]
