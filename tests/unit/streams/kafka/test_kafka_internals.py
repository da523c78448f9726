"""The private internals behind ``streams/kafka/internals.py`` still exist with the shape it uses."""

from __future__ import annotations

import inspect
from contextvars import ContextVar
from pathlib import Path

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


def test_why_the_consumer_polls_a_frozen_copy() -> None:
    """``streams/kafka/polling.py``: faust hands aiokafka its live set of active partitions, and aiokafka reads an
    empty set as every partition. If either changes, the copy may no longer be needed (or enough)."""
    from aiokafka.consumer.fetcher import Fetcher

    assert "if partitions and tp not in partitions:" in inspect.getsource(Fetcher.fetched_records)
    assert "active_partitions = self._get_active_partitions()" in inspect.getsource(Consumer._wait_next_records)
    assert "return tps" in inspect.getsource(Consumer._get_active_partitions)  # the set itself, not a copy


def test_the_worker_app_uses_the_polling_consumer(tmp_path: Path) -> None:
    from faust.app.base import App

    from streams.kafka.polling import MeterlineApp, PollingConsumer
    from streams.settings import load_settings
    from streams.worker.app import create_faust_app

    assert "transport.by_url(" in inspect.getsource(App._new_transport)  # the method MeterlineApp replaces
    app = create_faust_app(load_settings().model_copy(update={"data_dir": tmp_path}))
    assert isinstance(app, MeterlineApp)
    assert app.transport.Consumer is PollingConsumer
