"""The few private internals of faust-streaming and aiokafka Meterline relies on, each behind a named
function that says why no public API does the job.

Checked against faust-streaming 0.15.3 and aiokafka 0.14.0 (``tests/unit/streams/kafka/test_kafka_internals.py``
fails if one of them moves); re-check these when upgrading either.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from aiokafka import AIOKafkaConsumer
from faust.streams import _current_event

#: Faust's "event being processed" (a weak reference), which tables read to pick the partition of a
#: write. The live agent processes events in batches outside Faust's per-event loop, so it sets this
#: itself; Faust has no public way to do so.
FAUST_CURRENT_EVENT: ContextVar[Any] = _current_event


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The offset the Faust consumer last committed for ``tp``, from its own bookkeeping: the lag
    gauge needs it every few seconds, and the public ``committed()`` is a broker round trip."""
    found = consumer._committed_offset.get(tp)
    return int(found) if found is not None else None


async def force_metadata_update(consumer: AIOKafkaConsumer) -> None:
    """Ask the broker for fresh cluster metadata now: a topic created a moment ago shows up in
    ``partitions_for_topic`` only after the next metadata refresh (5 minutes by default), and the
    consumer has no public call to bring it forward."""
    await consumer._client.force_metadata_update()
