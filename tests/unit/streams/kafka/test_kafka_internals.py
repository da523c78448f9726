"""The private internals behind ``streams/kafka/internals.py`` still exist with the shape it uses."""

from __future__ import annotations

import inspect
from contextvars import ContextVar

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from faust.transport.consumer import Consumer

from streams.kafka import internals


def test_faust_current_event_is_a_context_variable() -> None:
    assert isinstance(internals.FAUST_CURRENT_EVENT, ContextVar)


def test_faust_consumer_keeps_committed_offsets() -> None:
    assert "self._committed_offset" in inspect.getsource(Consumer.__init__)


def test_aiokafka_consumer_client_can_force_a_metadata_update() -> None:
    assert "self._client = AIOKafkaClient(" in inspect.getsource(AIOKafkaConsumer.__init__)
    assert callable(AIOKafkaClient.force_metadata_update)  # returns an awaitable future


def test_faust_recovery_is_still_the_one_ordered_recovery_replaces() -> None:
    """``streams/kafka/recovery.py`` copies faust's end of a rebalance with the partitions resumed last; if faust
    changes the method (or fixes the order), the copy must be looked at again."""
    from faust.tables.manager import TableManager
    from faust.tables.recovery import Recovery

    src = inspect.getsource(Recovery.on_recovery_completed)
    assert src.index("consumer.resume_partitions(") < src.index("consumer.perform_seek()")
    assert src.index("consumer.perform_seek()") < src.index("self.app.flow_control.resume()")
    assert "self._recovery = Recovery(" in inspect.getsource(TableManager.recovery.fget)  # type: ignore[attr-defined]
