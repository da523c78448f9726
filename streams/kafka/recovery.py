"""Faust's table recovery with the end of a rebalance in an order that loses no record.

faust-streaming 0.15.3 ends a rebalance (``Recovery.on_recovery_completed``) by resuming the stream
partitions, seeking them to their committed offsets, and only then resuming flow control, which clears every
stream's queue (``clear_on_resume``). A record fetched in between was put in the queues of the agents reading
its topic and then cleared from some of them after another had already taken it: the fetch position was past
it, so the agents whose copy was cleared never saw it until the next rebalance. Live rating lost a record that
way beside the ClickHouse sink reading the same ``usage.accepted`` partition (a browser test whose worker rated
nothing for three minutes). Here the stream partitions are sought while still paused, the queues are cleared,
and the partitions resumed last: nothing is fetched before the clear, and everything after the committed
offsets is fetched after it.

The method below is faust's own with that order changed (``tests/unit/streams/kafka/test_recovery_order.py``
checks the order, ``test_kafka_internals.py`` that faust's method is still the one this replaces).
"""

from __future__ import annotations

import asyncio

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery


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
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
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


class OrderedTableManager(TableManager):  # type: ignore[misc]  # faust is untyped here
    """Faust's table manager with ``OrderedRecovery`` (set as the app's ``TableManager``)."""

    @property
    def recovery(self) -> Recovery:
        if self.__dict__.get("_recovery") is None:
            self._recovery = OrderedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        recovery: Recovery = self._recovery
        return recovery
