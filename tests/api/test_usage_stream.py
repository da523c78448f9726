"""``GET /api/billing/usage/stream`` (server-sent events from the live quota state): through a real
``meterline api serve`` process, the first ``usage`` event with its ``as_of`` for the owner's own organization
(signed in by a session); refused before any event to another organization's member, to a member for the whole
organization, and without credentials."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streams.api.models import UsageStreamEvent
from streams.settings import Settings
from tests.support.web_server import sign_in, web_api, write_dist

pytestmark = pytest.mark.integration


def _events(lines: httpx.Response, count: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    for line in lines.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            out.append((kind, orjson.loads(line.removeprefix("data: "))))
            if len(out) == count:
                break
    return out


def test_stream_over_a_real_server(stack_settings: Settings, tmp_path: Path) -> None:
    with web_api(stack_settings, tmp_path, write_dist(tmp_path / "dist")) as server:
        c = httpx.Client(base_url=server.base, timeout=30)
        link = server.login_link("olga")
        assert sign_in(c, link).status_code == 303
        csrf = c.cookies["meterline_csrf"]
        org = c.post("/api/billing/organizations", json={"name": "Acme"}, headers={"x-csrf-token": csrf}).json()["id"]
        # The session acting as olga without org reads the organization she owns.
        with c.stream("GET", f"/api/billing/usage/stream?account={org}") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            [(kind, data)] = _events(r, 1)
        assert kind == "usage"
        event = UsageStreamEvent.model_validate(data)
        assert event.usage.account_id == org and isinstance(event.as_of, datetime)
        assert {m.metric for m in event.usage.metrics} >= {"api_calls"}
        # Another person, signed in: the organization does not exist for them, before any event.
        other = httpx.Client(base_url=server.base, timeout=30)
        assert sign_in(other, server.login_link("mallory")).status_code == 303
        assert other.get(f"/api/billing/usage/stream?account={org}").status_code == 404
        assert httpx.get(f"{server.base}/api/billing/usage/stream?account={org}").status_code == 401


async def test_stream_refusals(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("olga", members={"max": "member"})
        other = await api.org("mallory", name="Other")
        r = await api.client.get(f"/api/billing/usage/stream?account={org}", headers=api.as_user("mallory", other))
        assert r.status_code == 404
        r = await api.client.get(f"/api/billing/usage/stream?account={org}", headers=api.as_user("max", org))
        assert r.status_code == 403  # a member reads their own share, not the organization's live figures
        r = await api.client.get("/api/billing/usage/stream?account=x%00")
        assert r.status_code in (401, 422)


def _held_open(r: httpx.Response) -> Iterator[str]:
    """The stream's lines, past its first event: the caller keeps the iterator (dropping it closes the stream)."""
    lines = r.iter_lines()
    assert r.status_code == 200 and any(line.startswith("data: ") for line in lines)
    return lines


def test_an_accounts_open_streams_are_limited(stack_settings: Settings, tmp_path: Path) -> None:
    """Each stream holds a connection and is read again on every change: an account has at most
    METERLINE_API_STREAMS_PER_ACCOUNT open at once (429 with Retry-After beyond), another account its own, and a
    closed stream's slot comes back."""
    dist = write_dist(tmp_path / "dist")
    with web_api(stack_settings, tmp_path, dist, METERLINE_API_STREAMS_PER_ACCOUNT="2") as server:
        c = httpx.Client(base_url=server.base, timeout=30)
        assert sign_in(c, server.login_link("olga")).status_code == 303
        csrf = {"x-csrf-token": c.cookies["meterline_csrf"]}
        org = c.post("/api/billing/organizations", json={"name": "Acme"}, headers=csrf).json()["id"]
        mine = c.post("/api/billing/organizations", json={"name": "Acme 2"}, headers=csrf).json()["id"]
        url = f"/api/billing/usage/stream?account={org}"
        with c.stream("GET", url) as first, c.stream("GET", url) as second:
            held = [_held_open(first), _held_open(second)]
            with c.stream("GET", url) as third:
                assert third.status_code == 429  # before reading: a stream let in would never end
                third.read()
                assert (third.status_code, third.json()["error"]["code"], third.headers["retry-after"]) == (
                    429,
                    "too_many_streams",
                    "5",
                )
            with c.stream("GET", f"/api/billing/usage/stream?account={mine}") as other:
                assert other.status_code == 200
            assert len(held) == 2
        # Closed: the server sees it within a poll and gives the slots back.
        deadline = time.monotonic() + 15
        while True:
            with c.stream("GET", url) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "a closed stream's slot never came back"
            time.sleep(0.5)
