"""Faust's Kafka consumer, polling only the partitions that were active when each poll began.

faust-streaming 0.15.3 "pauses" a partition by leaving it out of the set it hands aiokafka's ``fetched_records``
(aiokafka itself keeps fetching it), and hands over its live set, not a copy. A poll waits up to a second; when
every partition was paused meanwhile — at the end of table recovery, as the stream partitions wait for their
seek — the set was empty, and aiokafka reads an empty set as *every* partition: it returned the records buffered
for the paused stream partitions, moved their positions past them, and faust then dropped them as paused. Coming
in while the worker sought its stream partitions to their committed offsets, such a poll undid the seek: the
records between the committed offset and the poll's end were gone for this worker (reproduced: a worker starting
on a group with committed offsets rated about half of what was sent during its start, docs/architecture.md §9).

``PollingConsumer`` polls a frozen copy of the active partitions and does not poll when there are none, so a poll
can only return partitions that were active when it began. A partition paused during a poll (a rebalance
starting) can still come back in it and be dropped by faust: ``streams/kafka/recovery.py`` therefore waits for the
polls in flight over the stream partitions to end before seeking them (``polls_done``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP


class PollingConsumer(faust_aiokafka.Consumer):  # type: ignore[misc]  # faust is untyped here
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._polls: dict[int, frozenset[TP]] = {}  # polls in flight: their partitions
        self._poll_ended = asyncio.Event()
        self._poll_ids = 0

    async def _getmany(self, active_partitions: Set[TP] | None, timeout: float) -> Any:
        if active_partitions is None:  # a client-only app reads every partition it has
            return await super()._getmany(None, timeout)
        polled = frozenset(active_partitions)
        if not polled:
            await asyncio.sleep(timeout)  # as faust waits when nothing is active
            return {}
        self._poll_ids += 1
        poll = self._poll_ids
        self._polls[poll] = polled
        try:
            return await super()._getmany(polled, timeout)
        finally:
            del self._polls[poll]
            self._poll_ended.set()

    async def polls_done(self, partitions: Set[TP]) -> None:
        """Until no poll in flight includes any of ``partitions`` (a poll lasts at most its timeout)."""
        while any(not p.isdisjoint(partitions) for p in self._polls.values()):
            self._poll_ended.clear()
            await self._poll_ended.wait()


class PollingTransport(faust_aiokafka.Transport):  # type: ignore[misc]  # faust is untyped here
    Consumer = PollingConsumer


class MeterlineApp(faust.App):  # type: ignore[misc]  # faust is untyped here
    """A Faust app whose consumer is ``PollingConsumer`` (faust picks the transport by the broker URL's scheme)."""

    def _new_transport(self) -> Any:
        return PollingTransport(self.conf.broker_consumer, self)
