"""``GET /api/billing/organizations/{id}/usage/stream`` (the admin panel's live usage as server-sent events), through
a real ``meterline api serve`` process following the run's real ``billing.quota-state``: the first event at once,
another when a metric record of the organization arrives (as the live stage writes it) and when its AI controls
change (the ``@ai_controls:`` record the API publishes through its outbox); refused before any event to another
organization's owner, a member and no credentials; a removed admin's open stream ends with an ``error`` event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.api.org_usage_models import OrgUsageStreamEvent
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import QUOTA_STATE
from tests.support.api import JWT_SECRET
from tests.support.web_server import web_api, write_dist

pytestmark = pytest.mark.integration


def _as(user: str, org: str | None = None) -> dict[str, str]:
    claims: dict[str, Any] = {"sub": user, "exp": int(time.time()) + 600, **({"org": org} if org else {})}
    return {"authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


def _events(r: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = ""
    for line in r.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, orjson.loads(line.removeprefix("data: "))


def _until(events: Iterator[tuple[str, dict[str, Any]]], want: Any, timeout: float = 60.0) -> tuple[str, Any]:
    """The first event for which ``want(kind, data)`` holds (the figures may come in more than one event)."""
    deadline = time.monotonic() + timeout
    for kind, data in events:
        if want(kind, data):
            return kind, data
        assert time.monotonic() < deadline, "the expected event did not come"
    raise AssertionError("the stream ended")


def _put_quota(settings: Settings, account: str, metric: str, used: str, period: str) -> None:
    async def send() -> None:
        await ensure_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await producer.start()
        try:
            record = {"account_id": account, "metric": metric, "period": period, "used": used}
            record["as_of"] = datetime.now(UTC).isoformat()
            await producer.send_and_wait(
                settings.topic(QUOTA_STATE), orjson.dumps(record), key=f"{account}:{metric}".encode()
            )
        finally:
            await producer.stop()

    asyncio.run(send())


def _used(data: dict[str, Any], metric: str) -> str | None:
    return next((m["used"] for m in data["usage"]["metrics"] if m["metric"] == metric), None)


def _member(data: dict[str, Any], user: str) -> dict[str, Any]:
    return next(m for m in data["members"]["members"] if m["user_id"] == user)


def test_org_stream_over_a_real_server(stack_settings: Settings, tmp_path: Path) -> None:
    with web_api(stack_settings, tmp_path, write_dist(tmp_path / "dist")) as server:
        c = httpx.Client(base_url=server.base, timeout=30)
        org = c.post("/api/billing/organizations", json={"name": "Acme"}, headers=_as("olga")).json()["id"]
        owner = _as("olga", org)
        assert c.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=owner).status_code == 201
        for user, role in {"ada": "admin", "vic": "viewer", "max": "member"}.items():
            inv = c.post(
                f"/api/billing/organizations/{org}/invitations", json={"user_id": user, "role": role}, headers=owner
            )
            assert c.post(f"/api/billing/invitations/{inv.json()['id']}/accept", headers=_as(user)).status_code == 200
        other = c.post("/api/billing/organizations", json={"name": "Other"}, headers=_as("mallory")).json()["id"]
        url = f"/api/billing/organizations/{org}/usage/stream"

        # The attackers are refused before any event.
        assert c.get(url, headers=_as("mallory", other)).status_code == 404
        assert c.get(url, headers=_as("max", org)).status_code == 403  # a member: GET .../usage/members, self only
        assert c.get(url).status_code == 401
        with c.stream("GET", url, headers=_as("vic", org)) as r:  # a viewer reads it
            assert r.status_code == 200
            assert next(_events(r))[0] == "usage"

        with c.stream("GET", url, headers=_as("ada", org)) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = _events(r)
            kind, data = next(events)
            first = OrgUsageStreamEvent.model_validate(data)
            assert kind == "usage" and first.usage.account_id == org and first.members.scope == "organization"
            assert {m.user_id for m in first.members.members} == {"olga", "ada", "vic", "max"}
            assert _used(data, "api_calls") == "0"

            # The live stage's record of the organization's API calls: pushed, without asking.
            _put_quota(stack_settings, org, "api_calls", "777", first.usage.period.key)
            _until(events, lambda k, d: k == "usage" and _used(d, "api_calls") == "777")

            # A member's AI cap set by the owner: the API's @ai_controls record wakes the stream.
            cap = {"monthly_request_cap": 5, "cap_mode": "hard"}
            put = c.put(f"/api/billing/organizations/{org}/ai-controls/members/max", json=cap, headers=owner)
            assert put.status_code == 200, put.text
            _, data = _until(events, lambda k, d: k == "usage" and _member(d, "max")["cap"] is not None)
            assert _member(data, "max")["cap"]["request_cap"] == 5 and _used(data, "api_calls") == "777"

            # Ada is removed: the next change ends her stream with an error, not figures.
            assert c.delete(f"/api/billing/organizations/{org}/members/ada", headers=owner).status_code == 204
            _put_quota(stack_settings, org, "api_calls", "778", first.usage.period.key)
            kind, data = _until(events, lambda k, d: True)
            assert kind == "error" and data["error"]["code"] in ("forbidden", "not_found")
            assert list(events) == []  # and the end
