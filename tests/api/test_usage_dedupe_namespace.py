"""Usage recorded through the billing API has its own dedupe namespace (docs/events.md): the dedupe key is
``(source, event_id)`` and the API binds the source to the caller (``api:<organization>``, or
``api:user:<user id>`` for a personal token), whatever source it sends. So a member cannot suppress or alter
a platform service's event by claiming its id first, and one account's ids never suppress another's:
checked through real Kafka, the ingest step with its real RocksDB dedupe store, chDB and settlement."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from rating.catalog.loader import load_catalog
from schemas.accepted import encode_rows
from schemas.sdk import AsyncUsageClient
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.settlement import SettlementStore
from streams.api.routes import record as record_routes
from streams.api.warehouse import Warehouse
from streams.ingest.dedupe import DedupeStore
from streams.ingest.step import IngestStep, InRecord
from streams.kafka.compacted import read_to_end
from streams.settlement.settler import Settler
from streams.topics import EVENTS
from streams.worker.app import decode_limits
from tests.support.ingest import ingest_batch

pytestmark = pytest.mark.integration
R = "/api/billing/usage/record"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AT = NOW - timedelta(minutes=30)
AI = {"provider": "openai", "model": "gpt-4o"}


def _ai(user: str, org: str | None, event_id: str, quantity: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "timestamp": AT.isoformat(),
        "user_id": user,
        "org_id": org,
        "metric": "ai_requests",
        "quantity": quantity,
        "properties": AI,
        **extra,
    }


async def test_billing_api_usage_cannot_suppress_or_alter_service_usage(
    make_api: Callable[..., Any], warehouse: Warehouse, tmp_path: Path
) -> None:
    prefix = f"dn{uuid.uuid4().hex[:8]}."
    async with make_api(now=NOW, kafka=True, topic_prefix=prefix) as api:
        org = await api.org("ann", members={"bob": "member"})
        other = await api.org("oli", name="Other Co")
        bob = api.as_user("bob", org)

        async def record(headers: dict[str, str], ev: dict[str, Any]) -> None:
            r = await api.client.post(R, json=ev, headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == 1, r.text

        # The member claims the service's id first, naming the service's source: the API overwrites it.
        await record(bob, _ai("bob", org, "chat-req-42", 0, source="chat"))
        await record(bob, _ai("bob", org, "chat-req-42", 0))  # its retry: the same (source, event_id)
        # Another organization, and bob's personal account, use the same id.
        await record(api.as_user("oli", other), _ai("oli", other, "chat-req-42", 7))
        await record(api.as_user("bob"), _ai("bob", None, "chat-req-42", 3))
        # The platform service's event, straight to Kafka with the SDK, produced twice (a replaying producer).
        topic = api.settings.topic(EVENTS)
        async with AsyncUsageClient(api.settings.kafka_bootstrap, source="chat", topic=topic) as usage:
            for _ in range(2):
                await usage.record(
                    "ai_requests", 250, user_id="bob", org_id=org, event_id="chat-req-42", timestamp=AT, properties=AI
                )
                await usage.flush()
        records = await read_to_end(api.settings.kafka_bootstrap, topic)

    sent = [ev for rec in records for ev in msgspec.json.decode(rec.value)["events"]]
    assert sorted((ev["source"], str(ev["quantity"])) for ev in sent) == sorted(
        [
            (f"api:{org}", "0"),
            (f"api:{org}", "0"),
            (f"api:{other}", "7"),
            ("api:user:bob", "3"),
            ("chat", "250"),
            ("chat", "250"),
        ]
    )

    # Live dedupe: every (source, event_id) once, whatever order the records come in.
    dedupe = DedupeStore(tmp_path / "dedupe", timedelta(hours=48), NOW)
    step = IngestStep(4, decode_limits(api.settings))
    inputs = [InRecord(r.value, r.topic, r.partition, r.offset) for r in records]
    result = ingest_batch(step, dedupe, inputs, NOW)
    dedupe.claim(result.claimed_keys)
    accepted = [ev for evs in result.accepted.values() for ev in evs]
    expected = [
        ("api:user:bob", "bob", Decimal(3)),
        (f"api:{org}", org, Decimal(0)),
        (f"api:{other}", other, Decimal(7)),
        ("chat", org, Decimal(250)),
    ]
    assert sorted((ev.source, ev.account_id, ev.quantity) for ev in accepted) == sorted(expected)
    assert result.duplicates == 2
    again = ingest_batch(step, dedupe, inputs, NOW)  # the whole topic replayed after the claim
    assert (again.accepted_count, again.duplicates) == (0, 6)

    # ClickHouse and settlement: the rows written twice (an at-least-once replay) still count once each.
    client = warehouse._open()
    db = f"dn_{uuid.uuid4().hex[:8]}"
    migrate(client, db, NOW)
    for _ in range(2):
        client.raw_insert(f"{db}.events", None, insert_block=encode_rows(accepted), fmt="JSONEachRow")
    stored = client.query(
        f"SELECT source, toString(quantity) FROM {db}.events FINAL WHERE event_id = 'chat-req-42' ORDER BY source"
    ).result_rows
    assert sorted((s, Decimal(q)) for s, q in stored) == sorted((s, q) for s, _, q in expected)
    store = SettlementStore(client, db)
    assert sorted(ev.quantity for ev in store.events(AT - timedelta(hours=1), NOW)) == [0, 3, 7, 250]
    Settler(store, load_catalog(), lambda _: None, lambda: [], visibility_margin=timedelta(0)).settle(
        NOW, datetime.now(UTC)
    )
    hourly = client.query(
        f"SELECT routing_account, user_id, toString(quantity), events FROM {db}.usage_hourly FINAL "
        "WHERE metric = 'ai_requests'"
    ).result_rows
    assert sorted((a, u, Decimal(q), int(n)) for a, u, q, n in hourly) == sorted(
        [(org, "bob", Decimal(250), 2), (other, "oli", Decimal(7), 1), ("bob", "bob", Decimal(3), 1)]
    )


async def test_events_of_a_second_source_not_stored_are_reported_for_resending(make_api: Callable[..., Any]) -> None:
    """A personal token may record its organization's usage and its own in one request: two sources, two
    deliveries. When the second fails after the first was acknowledged, the answer says which events were
    stored (failure injected in the forwarder)."""
    async with make_api(now=NOW) as api:
        org = await api.org("ann")
        stored: list[dict[str, Any]] = []

        class SecondFails:
            calls = 0

            async def send(self, events: list[dict[str, Any]]) -> None:
                self.calls += 1
                if self.calls > 1:
                    raise ConnectionError("broker down")
                stored.extend(events)

        api.ctx.ingest = record_routes.ingest_app(SecondFails(), decode_limits(api.settings), api.clock)
        both = {"events": [_ai("ann", org, "e-org", 1), _ai("ann", None, "e-own", 2)]}
        r = await api.client.post(R, json=both, headers=api.as_user("ann"))
        assert r.status_code == 200, r.text
        assert [(x["event_id"], x["status"], x.get("reason")) for x in r.json()["results"]] == [
            ("e-org", "accepted", None),
            ("e-own", "rejected", "unavailable"),
        ]
        assert "resend with the same event_id" in r.json()["results"][1]["detail"]
        assert [(e["event_id"], e["source"]) for e in stored] == [("e-org", f"api:{org}")]
        # Nothing acknowledged at all: 503, as before.
        r = await api.client.post(R, json=both, headers=api.as_user("ann"))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "unavailable")
        # The first source's only event is invalid (nothing stored) and the second is not delivered: 503.
        bad_then_own = {"events": [_ai("ann", org, "e-bad", -1), _ai("ann", None, "e-own", 2)]}
        fwd = SecondFails()
        fwd.calls = 1  # the next delivery fails: the second source's (the first has nothing to deliver)
        api.ctx.ingest = record_routes.ingest_app(fwd, decode_limits(api.settings), api.clock)
        r = await api.client.post(R, json=bad_then_own, headers=api.as_user("ann"))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "unavailable")
