"""``PollingConsumer`` polls a frozen copy of the active partitions, never an empty set (aiokafka reads it as every
partition), and says when the polls in flight over some partitions have ended (streams/kafka/polling.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.types import TP

from streams.kafka.polling import PollingConsumer

STREAM, OTHER, CHANGELOG = TP("usage.accepted", 0), TP("usage.events", 0), TP("meterline-live-usage-changelog", 0)


class FakeThread:
    """The consumer thread's ``getmany``: records what it was asked, answers when released."""

    def __init__(self) -> None:
        self.asked: list[Any] = []
        self.release = asyncio.Event()

    async def getmany(self, active_partitions: Any, timeout: float) -> dict[TP, list[int]]:
        self.asked.append(active_partitions)
        await self.release.wait()
        return {tp: [1] for tp in active_partitions}


def consumer(thread: FakeThread) -> PollingConsumer:
    """The consumer's own state only: faust's start-up (transport, app, thread) is not what is tested here."""
    c: PollingConsumer = PollingConsumer.__new__(PollingConsumer)
    c._polls, c._poll_ended, c._poll_ids = {}, asyncio.Event(), 0
    c._thread = thread
    return c


def test_a_poll_reads_the_partitions_active_when_it_began() -> None:
    async def run() -> None:
        thread = FakeThread()
        c = consumer(thread)
        active = {STREAM, CHANGELOG}
        poll = asyncio.ensure_future(c._getmany(active, 1.0))
        await asyncio.sleep(0)
        active.clear()  # faust pauses every partition while the poll waits (the end of recovery)
        thread.release.set()
        assert await poll == {STREAM: [1], CHANGELOG: [1]}
        assert thread.asked == [frozenset({STREAM, CHANGELOG})]

    asyncio.run(run())


def test_no_partition_active_no_poll() -> None:
    async def run() -> None:
        thread = FakeThread()
        thread.release.set()
        assert await consumer(thread)._getmany(set(), 0.01) == {}
        assert thread.asked == []

    asyncio.run(run())


def test_polls_done_waits_for_the_polls_over_those_partitions_only() -> None:
    async def run() -> None:
        thread = FakeThread()
        c = consumer(thread)
        poll = asyncio.ensure_future(c._getmany({STREAM}, 1.0))
        await asyncio.sleep(0)
        await asyncio.wait_for(c.polls_done({CHANGELOG, OTHER}), 1)  # none in flight over those
        waiting = asyncio.ensure_future(c.polls_done({STREAM, OTHER}))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        thread.release.set()
        await poll
        await asyncio.wait_for(waiting, 1)

    asyncio.run(run())
