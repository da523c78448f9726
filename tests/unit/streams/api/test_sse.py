"""The live streams' one loop (streams/api/sse.py), driven by a stand-in request and a scripted cue: the first
figures at once; after a cue only figures that differ (the time they were read does not count); figures that
follow the cue late are still sent within the settle window; an access refusal ends the stream with an error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from streams.api import sse
from streams.api.errors import ApiError


class Figures(BaseModel):
    as_of: datetime
    n: int


def _call() -> Any:
    async def connected() -> bool:
        return False

    return SimpleNamespace(request=SimpleNamespace(is_disconnected=connected), ctx=SimpleNamespace(limiter=None))


async def _collect(read: Callable[[], Figures], cue: Callable[[], int], settle: float, polls: int) -> list[Any]:
    response = sse.live_stream(_call(), "usage", read, cue, settle_seconds=settle)
    out: list[Any] = []

    async def run() -> None:
        async for chunk in response.body_iterator:
            text = chunk.decode() if isinstance(chunk, bytes) else str(chunk)
            for block in text.split("\n\n"):
                lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "event" in lines:
                    out.append((lines["event"], orjson.loads(lines["data"])))

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run(), timeout=polls * sse.POLL_SECONDS + 0.5)
    return out


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "POLL_SECONDS", 0.01)


def test_only_changed_figures_are_sent_and_late_ones_within_the_settle_window() -> None:
    ticks = iter(range(1000))
    values = iter([1, 1, 1, 2] + [2] * 1000)  # the figures move on the fourth read: after the cue, within settling
    cue_at = {5}  # one change of the quota state, on the sixth poll

    def read() -> Figures:
        return Figures(as_of=datetime.now(UTC), n=next(values))

    state = {"cue": 0}

    def cue() -> int:
        if next(ticks) in cue_at:
            state["cue"] += 1
        return state["cue"]

    events = asyncio.run(_collect(read, cue, settle=1.0, polls=40))
    assert [e[1]["n"] for e in events] == [1, 2]  # not 1 again: the time read does not count


def test_without_settling_a_cue_reads_once() -> None:
    values = iter([1, 1, 2] + [3] * 100)
    state = {"cue": 0, "polls": 0}

    def cue() -> int:
        state["polls"] += 1
        if state["polls"] == 3:
            state["cue"] += 1
        return state["cue"]

    events = asyncio.run(_collect(lambda: Figures(as_of=datetime.now(UTC), n=next(values)), cue, 0.0, 30))
    assert [e[1]["n"] for e in events] == [1]  # the one read after the cue gave the same figures; none since


def test_a_refusal_ends_the_stream_with_an_error() -> None:
    reads = {"n": 0}

    def read() -> Figures:
        reads["n"] += 1
        if reads["n"] > 1:
            raise ApiError(403, "forbidden", "the role member may not do this")
        return Figures(as_of=datetime.now(UTC), n=1)

    state = {"cue": 0}

    def cue() -> int:
        state["cue"] += 1
        return state["cue"]

    events = asyncio.run(_collect(read, cue, 0.0, 50))
    assert events == [
        ("usage", {"as_of": events[0][1]["as_of"], "n": 1}),
        ("error", {"error": {"code": "forbidden", "message": "the role member may not do this"}}),
    ]
