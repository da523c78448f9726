"""The ingest service both HTTP front ends use (streams/ingest/service.py): defaults, source binding, per-event
results, and ``NotStored`` when Kafka does not acknowledge (a fake forwarder: pure, no stack)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.decode import DecodeLimits
from schemas.events import Metric
from streams.ingest.service import BadBody, Ingest, NotStored, parse_events

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
SOURCE = "billing-svc"


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    async def send(self, events: list[dict[str, Any]]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.extend(events)


def _ev(**over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "user_id": "u1",
        "metric": Metric.API_CALLS.value,
        "quantity": 3,
        "timestamp": "2026-03-10T11:00:00Z",
    }
    return {**ev, **over}


def test_defaults_binding_and_per_event_results() -> None:
    fwd = Recorder()
    events = [_ev(event_id="a"), _ev(event_id="b", source="other"), _ev(event_id="c", quantity=-1), _ev(), 7]
    done = asyncio.run(Ingest(fwd, DecodeLimits(), lambda: NOW)(events, SOURCE))
    assert done.accepted == 2
    statuses = [(r["index"], r["status"], r.get("reason")) for r in done.results]
    assert statuses[:3] == [(0, "accepted", None), (1, "rejected", "source_mismatch"), (2, "rejected", statuses[2][2])]
    assert statuses[2][2] is not None and statuses[3] == (3, "accepted", None) and statuses[4][1] == "rejected"
    assert done.rejected_by_reason["source_mismatch"] == 1 and sum(done.rejected_by_reason.values()) == 3
    # The accepted events are forwarded with the bound source and an event_id (a fresh one when absent).
    assert [e["source"] for e in fwd.sent] == [SOURCE, SOURCE]
    assert fwd.sent[0]["event_id"] == "a" and fwd.sent[1]["event_id"] == done.results[3]["event_id"]
    assert isinstance(fwd.sent[1]["event_id"], str) and len(fwd.sent[1]["event_id"]) == 36
    # The caller's objects are not changed.
    assert "source" not in events[0]


def test_not_acknowledged_is_not_stored() -> None:
    with pytest.raises(NotStored) as err:
        asyncio.run(Ingest(Recorder(fail=True), DecodeLimits(), lambda: NOW)([_ev(event_id="a")], SOURCE))
    assert (err.value.code, err.value.retry_after) == ("unavailable", 1)


def test_nothing_valid_forwards_nothing() -> None:
    fwd = Recorder(fail=True)  # never called: no error although it would fail
    done = asyncio.run(Ingest(fwd, DecodeLimits(), lambda: NOW)([_ev(quantity=-1)], SOURCE))
    assert (done.accepted, done.results[0]["status"]) == (0, "rejected")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "not_json"),
        (b"[1]", 400, "not_an_object"),
        (b'{"events": 1}', 400, "invalid_batch"),
        (b'{"events": []}', 400, "empty_batch"),
        (b'{"events": [' + b",".join([b"{}"] * 1001) + b"]}", 413, "batch_too_large"),
        (b"[" * 10_000 + b"]" * 10_000, 400, "too_deep"),
    ],
)
def test_bodies_refused_as_a_whole(body: bytes, status: int, code: str) -> None:
    with pytest.raises(BadBody) as err:
        parse_events(body)
    assert (err.value.status, err.value.code) == (status, code)


def test_one_event_or_a_batch() -> None:
    assert parse_events(b'{"metric": "x"}') == [{"metric": "x"}]
    assert parse_events(b'{"events": [{"a": 1}, 2]}') == [{"a": 1}, 2]
