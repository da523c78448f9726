"""Faust's table recovery with the end of a rebalance in an order that loses no record.

faust-streaming 0.15.3 ends a rebalance (``Recovery.on_recovery_completed``) by resuming the stream
partitions, seeking them to their committed offsets, and only then resuming flow control, which clears every
stream's queue (``clear_on_resume``). A record fetched in between can be put in the queues of the agents reading
its topic and then cleared from some of them after another has already taken it: the fetch position is past
it, so the agents whose copy was cleared would not see it until the next rebalance. Here the stream partitions
are sought while still paused (after the polls in flight over them end: ``streams/kafka/polling.py``, where the
loss the browser tests saw was found), the queues are cleared, and the partitions resumed last: nothing is
fetched before the clear, and everything after the committed offsets is fetched after it.

The method below is faust's own with that order changed (``tests/unit/streams/kafka/test_recovery_order.py``
checks the order, ``test_kafka_internals.py`` that faust's method is still the one this replaces).
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.consumer import ensure_TP

from streams.kafka.polling import PollingConsumer


class OrderedRecovery(Recovery):  # type: ignore[misc]  # faust is untyped here
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Call when active table recovery is completed (faust's, with the stream partitions resumed last)."""
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callback_coros = [
            asyncio.ensure_future(
                table.on_recovery_completed(self.actives_for_table[table], self.standbys_for_table[table])
            )
            for table in self.tables.values()
        ]
        if callback_coros:
            await asyncio.wait(callback_coros)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(
                f"Recovery rebalancing again app id {self.app.consumer_generation_id} param {generation_id}"
            )
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(self._seek_streams(consumer, assignment), timeout=self.app.conf.broker_request_timeout)
        self.completed.set()
        self.log.dev("Resume stream partitions")
        self.app.flow_control.resume()  # clears the streams' queues: nothing of these partitions is in them yet
        consumer.resume_flow()
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        # finally make sure the fetcher is running.
        await self.app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()

    async def _seek_streams(self, consumer: Any, assignment: set[Any]) -> None:
        """faust's ``perform_seek``, and a partition nobody has committed sought to its earliest offset.

        aiokafka's ``seek_to_committed`` leaves such a partition where it is: what was fetched for it as the
        partitions were assigned stayed buffered, and a record delivered from there into a queue that was then
        cleared was gone for this worker (every partition new to a test's topics lost its first record now and
        then). Sought again, its records are fetched after the clear, as ``auto_offset_reset="earliest"`` says.
        """
        if isinstance(consumer, PollingConsumer):
            # A poll begun before the rebalance paused these partitions could still return (and move past) their
            # records after the seek, and faust would drop them as paused (streams/kafka/polling.py).
            await consumer.polls_done({tp for tp in assignment if not self._is_changelog_tp(tp)})
        committed = await consumer.seek_to_committed()
        consumer._read_offset.update({tp: o if o is not None and o >= 0 else None for tp, o in committed.items()})
        known = {ensure_TP(tp): o if o else None for tp, o in committed.items() if o is not None}
        consumer._committed_offset.update(known)
        never = [tp for tp in assignment if committed.get(tp) is None and not self._is_changelog_tp(tp)]
        if never:
            earliest = await consumer.earliest_offsets(*never)
            # seek_wait runs in the consumer's thread (faust's recovery seeks changelogs so); ``seek`` would call
            # aiokafka from this one, and once hung a worker's start for good.
            await consumer.seek_wait({tp: earliest[tp] for tp in never})


class OrderedTableManager(TableManager):  # type: ignore[misc]  # faust is untyped here
    """Faust's table manager with ``OrderedRecovery`` (set as the app's ``TableManager``)."""

    @property
    def recovery(self) -> Recovery:
        if self.__dict__.get("_recovery") is None:
            self._recovery = OrderedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        recovery: Recovery = self._recovery
        return recovery
