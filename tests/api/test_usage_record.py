"""``POST /api/billing/usage/record``: the HTTP ingest's path (same decoder, per-event results, forwarded to
``usage.events``) behind the billing API's auth: who may record usage for whom."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from streams.kafka.compacted import read_to_end
from streams.topics import EVENTS

pytestmark = pytest.mark.integration
R = "/api/billing/usage/record"


def event(user: str, org: str | None, **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "user_id": user,
        "org_id": org,
        "metric": "api_calls",
        "quantity": "2",
        "properties": {"endpoint": "/v1/search"},
    }
    return {**ev, **extra}


async def test_recorded_events_land_on_usage_events(make_api: Callable[..., Any]) -> None:
    prefix = f"rec{uuid.uuid4().hex[:8]}."
    async with make_api(kafka=True, topic_prefix=prefix) as api:
        org = await api.org("ann", members={"bob": "member"})
        await api.subscribe(org, "ann")
        good = [
            event("bob", org, event_id="rec-1", quantity=1.5),
            event("ann", org, event_id="rec-2"),
            event("bob", org, event_id="rec-3", metric="no_such_metric"),
            event("bob", org, event_id="rec-4", source="elsewhere"),
            event("stranger", org, event_id="rec-5"),
        ]
        r = await api.client.post(R, json={"events": good}, headers=api.as_user("ann", org))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["accepted"], body["rejected"]) == (3, 2)
        assert [(x["index"], x["event_id"], x["status"], x.get("reason")) for x in body["results"]] == [
            (0, "rec-1", "accepted", None),
            (1, "rec-2", "accepted", None),
            (2, "rec-3", "rejected", "unknown_metric"),
            (3, "rec-4", "accepted", None),  # its source is replaced by the caller's own
            (4, "rec-5", "rejected", "not_permitted"),
        ]
        # One event without an id: the ingest server's default (a UUID) and an org API key.
        key = await api.key(org, "ann", "member")
        r = await api.client.post(R, json=event("bob", org), headers=key)
        assert r.status_code == 200, r.text
        generated = r.json()["results"][0]["event_id"]
        assert uuid.UUID(generated)

        records = await read_to_end(api.settings.kafka_bootstrap, api.settings.topic(EVENTS))
    assert api.settings.topic(EVENTS) == f"{prefix}{EVENTS}"
    events = [ev for rec in records for ev in msgspec.json.decode(rec.value)["events"]]
    assert sorted(ev["event_id"] for ev in events) == sorted(["rec-1", "rec-2", "rec-4", generated])
    by_id = {ev["event_id"]: ev for ev in events}
    assert by_id["rec-1"]["quantity"] == "1.5"  # exactly as sent, never through a float
    assert {ev["source"] for ev in events} == {f"api:{org}"}  # bound to the organization (docs/events.md)
    assert all(rec.key == org.encode() for rec in records)  # keyed by org_id, as the ingest server does


async def test_who_may_record_for_whom(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("own", members={"adm": "admin", "mem": "member", "mem2": "member", "vie": "viewer"})
        other = await api.org("out", name="Other")
        bare = await api.org("own", name="No subscription", members={"mem": "member"})
        await api.subscribe(org, "own")

        async def post(headers: dict[str, str], *events: dict[str, Any]) -> tuple[int, list[Any]]:
            r = await api.client.post(R, json={"events": list(events)}, headers=headers)
            body = r.json()
            return r.status_code, [x["status"] for x in body["results"]] if "results" in body else [
                body["error"]["code"]
            ]

        # A member: its own usage, in its organization or personally; nobody else's.
        mem = api.as_user("mem")
        assert await post(mem, event("mem", org), event("mem", None)) == (200, ["accepted", "accepted"])
        # Each event gets the source of the account it names: the organization's, or the member's own.
        assert [(e["source"], e["org_id"]) for e in api.forwarded] == [(f"api:{org}", org), ("api:user:mem", None)]
        assert await post(mem, event("mem", org), event("mem2", org)) == (200, ["accepted", "rejected"])
        assert await post(mem, event("mem2", None)) == (403, ["forbidden"])
        assert await post(mem, event("mem", other)) == (404, ["not_found"])  # as if it did not exist
        # Owners and admins record for any member of their organization, not for outsiders.
        assert await post(api.as_user("adm", org), event("mem2", org), event("vie", org)) == (
            200,
            ["accepted", "accepted"],
        )
        assert await post(api.as_user("adm", org), event("out", other)) == (404, ["not_found"])
        assert await post(api.as_user("own", org), event("nobody", org)) == (403, ["forbidden"])
        # A token acting in one organization records in that one only.
        assert await post(api.as_user("out", other), event("out", org)) == (404, ["not_found"])
        # Viewers read only, by token or by key; keys record for members of their own organization.
        assert await post(api.as_user("vie", org), event("vie", org)) == (403, ["forbidden"])
        assert await post(await api.key(org, "own", "viewer"), event("mem", org)) == (403, ["forbidden"])
        admin_key = await api.key(org, "own", "admin")
        assert await post(admin_key, event("mem", org), event("mem", None), event("out", other)) == (
            200,
            ["accepted", "rejected", "rejected"],
        )
        assert len(api.forwarded) == 6
        # Bad input: the ingest server's answers, in the API's error shape.
        assert await post(api.as_user("mem"), event("mem", None, quantity="-1")) == (422, ["no_event_accepted"])
        r = await api.client.post(R, content=b"[1, 2]", headers={**mem, "content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "not_an_object")
        r = await api.client.post(R, content=b"{nope", headers={**mem, "content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "not_json")
        assert (await api.client.post(R, json={"events": []}, headers=mem)).json()["error"]["code"] == "empty_batch"
        r = await api.client.post(R, content=b"{}", headers={**mem, "content-type": "text/plain"})
        assert r.status_code == 415
        assert (await api.client.post(R, json=event("mem", None))).status_code == 401
        assert len(api.forwarded) == 6
        # An organization that bills nobody: its members' usage there is their own, so only they record it
        # (recorded by an admin it would put charges on the member's personal account).
        assert await post(api.as_user("own", bare), event("mem", bare)) == (403, ["forbidden"])
        assert await post(await api.key(bare, "own", "admin"), event("mem", bare)) == (403, ["forbidden"])
        assert await post(api.as_user("mem"), event("mem", bare)) == (200, ["accepted"])
        assert len(api.forwarded) == 7


async def test_kafka_unavailable_answers_503_and_nothing_is_acknowledged(make_api: Callable[..., Any]) -> None:
    async with make_api(kafka=True, kafka_bootstrap="127.0.0.1:1") as api:
        org = await api.org("kai")
        r = await api.client.post(R, json=event("kai", org), headers=api.as_user("kai", org))
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] in ("unavailable", "kafka_unavailable")
