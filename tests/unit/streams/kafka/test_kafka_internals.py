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
