"""The Faust agents of a worker: thin loops that take batches, call the steps, and emit.

At-least-once (docs/architecture.md §8): an agent's batch is acknowledged — so its offsets may be committed —
only after everything it produced was delivered and every row it wrote is in ClickHouse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust

from schemas.accepted import encode_rows
from schemas.dlq import rejected_row
from sinks.clickhouse.row_sink import RowSink
from streams import topics
from streams.ingest.step import InRecord
from streams.kafka.internals import committed_offset
from streams.warehouse.rows import provisional_rows, subscription_rows
from streams.worker.app import Wiring
from streams.worker.crash import EXIT_AGENT_CRASHED, crash_only

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WarehouseSinks:
    """The ClickHouse tables a sink worker feeds straight from topics."""

    events: RowSink
    rejected: RowSink
    alerts: RowSink
    rated: RowSink
    subscriptions: RowSink


T = TypeVar("T")

#: Accepted rows per ``usage.accepted`` record (~300 bytes each: well under the request size).
ROWS_PER_RECORD = 1000


def _chunks(rows: Sequence[T], size: int) -> list[Sequence[T]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def ingest_batch(w: Wiring, batch: Sequence[Any], accepted: faust.TopicT, dlq: faust.TopicT) -> None:
    """Validate, dedupe and route one batch; claim its keys only once its outputs were delivered."""
    assert w.ingest is not None and w.dedupe is not None, "an ingest agent on a worker without ingest"
    records = [InRecord(e.value or b"", e.message.topic, e.message.partition, e.message.offset) for e in batch]
    out, candidates = w.ingest.decode(records, datetime.now(UTC))
    # RocksDB releases the GIL: the lookup runs beside the other agents instead of blocking them.
    seen = await asyncio.to_thread(w.dedupe.seen, [(ev.source, ev.event_id) for ev in candidates])
    result = w.ingest.route(out, candidates, seen)
    pending = []
    for partition, rows in result.accepted.items():
        for chunk in _chunks(rows, ROWS_PER_RECORD):
            pending.append(await accepted.send(value=encode_rows(chunk), partition=partition, force=True))
    for letter in result.dead_letters:
        pending.append(await dlq.send(value=letter, force=True))
    await asyncio.gather(*pending)
    await asyncio.to_thread(w.dedupe.claim, result.claimed_keys)
    m = w.metrics
    m.records_in.inc(len(records))
    m.events_in.inc(result.events_in)
    m.events_accepted.inc(result.accepted_count)
    m.events_duplicate.inc(result.duplicates)
    for reason, n in result.rejected_by_reason.items():
        m.events_rejected.labels(reason).inc(n)
    m.batch_events.observe(result.events_in)


async def store_batch(w: Wiring, sink: RowSink, rows: Sequence[bytes], oldest_ts: float | None) -> None:
    await sink.write(rows)
    if oldest_ts is not None and sink.table.endswith(".events"):
        w.metrics.event_to_store_seconds.observe(max(0.0, datetime.now(UTC).timestamp() - oldest_ts))


def register_agents(w: Wiring, sinks: WarehouseSinks | None) -> None:
    """Declare the topics and attach the agents of the worker's role."""
    app, s = w.app, w.settings
    events_topic = app.topic(s.topic(topics.EVENTS))
    accepted_topic = app.topic(s.topic(topics.ACCEPTED))
    dlq_topic = app.topic(s.topic(topics.EVENTS_DLQ))
    alerts_topic = app.topic(s.topic(topics.ALERTS))

    async def ingest(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.ingest_take_records, within=s.ingest_linger_seconds):
            await ingest_batch(w, batch, accepted_topic, dlq_topic)

    async def store_events(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            oldest = min((e.message.timestamp for e in batch), default=None)
            await store_batch(w, events_sink, [e.value for e in batch if e.value], oldest)

    async def store_rejected(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            await store_batch(w, rejected_sink, [rejected_row(e.value) for e in batch if e.value], None)

    if w.ingest is not None:
        app.agent(events_topic, name="meterline.ingest")(crash_only(ingest))
    if sinks is not None:
        events_sink, rejected_sink, alerts_sink = sinks.events, sinks.rejected, sinks.alerts

        async def store_alerts(stream: faust.StreamT[Any]) -> None:
            async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
                await store_batch(w, alerts_sink, [e.value for e in batch if e.value], None)

        async def store_rated(stream: faust.StreamT[Any]) -> None:
            async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
                rows = [
                    row
                    for e in batch
                    if e.value
                    for row in provisional_rows(e.value, e.message.partition, e.message.offset)
                ]
                await store_batch(w, sinks.rated, rows, None)

        async def store_subscriptions(stream: faust.StreamT[Any]) -> None:
            async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
                rows = [row for e in batch if e.value for row in subscription_rows(e.value, e.message.offset)]
                await store_batch(w, sinks.subscriptions, rows, None)

        app.agent(accepted_topic, name="meterline.store-events")(crash_only(store_events))
        app.agent(dlq_topic, name="meterline.store-rejected")(crash_only(store_rejected))
        app.agent(alerts_topic, name="meterline.store-alerts")(crash_only(store_alerts))
        app.agent(app.topic(s.topic(topics.RATED)), name="meterline.store-rated")(crash_only(store_rated))
        app.agent(app.topic(s.topic(topics.SUBSCRIPTIONS)), name="meterline.store-subscriptions")(
            crash_only(store_subscriptions)
        )

    unassigned_since = [time.monotonic()]

    reported: set[tuple[str, int]] = set()

    async def report_lag() -> None:
        consumer = app.consumer
        assignment = consumer.assignment()
        # Watchdog: a worker left without partitions (seen after a broker restart caught it mid-join)
        # would sit idle for ever; crash-only, it exits and its supervisor starts it afresh.
        if assignment:
            unassigned_since[0] = time.monotonic()
        elif s.stall_exit_seconds and time.monotonic() - unassigned_since[0] > s.stall_exit_seconds:
            log.critical("no partitions assigned for %.0f s: exiting so the worker restarts", s.stall_exit_seconds)
            sys.stderr.flush()
            os._exit(EXIT_AGENT_CRASHED)
        for tp in assignment:
            try:
                high = consumer.highwater(tp)
                committed = committed_offset(consumer, tp)
            except Exception:  # metadata not fetched yet: skip this round
                continue
            if high is not None:
                w.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, high - (committed or 0)))
                reported.add((tp.topic, tp.partition))
        # A partition that moved to another worker is no longer this worker's lag: its last value would
        # otherwise stay exported for ever (and read as a backlog nobody is working on).
        for topic, partition in reported - {(tp.topic, tp.partition) for tp in assignment}:
            w.metrics.consumer_lag.remove(topic, str(partition))
            reported.discard((topic, partition))

    app.timer(5.0)(report_lag)
