"""The warehouse sink agents: thin Faust loops that copy topics into ClickHouse tables in batches.

At-least-once (docs/architecture.md §8): a batch is acknowledged — so its offsets may be committed — only
after every row it wrote is in ClickHouse; ``ReplacingMergeTree`` drops the repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.dlq import rejected_row
from sinks.clickhouse.row_sink import RowSink
from streams import topics
from streams.warehouse.rows import provisional_rows, subscription_rows
from streams.worker.app import Wiring
from streams.worker.crash import crash_only


@dataclass(frozen=True, slots=True)
class WarehouseSinks:
    """The ClickHouse tables a sink worker feeds straight from topics."""

    events: RowSink
    rejected: RowSink
    alerts: RowSink
    rated: RowSink
    subscriptions: RowSink


async def store_batch(w: Wiring, sink: RowSink, rows: Sequence[bytes], oldest_ts: float | None) -> None:
    await sink.write(rows)
    if oldest_ts is not None and sink.table.endswith(".events"):
        w.metrics.event_to_store_seconds.observe(max(0.0, datetime.now(UTC).timestamp() - oldest_ts))


def register_sinks(
    w: Wiring, sinks: WarehouseSinks, accepted: faust.TopicT, dlq: faust.TopicT, alerts: faust.TopicT
) -> None:
    """Attach the agents that store accepted events, dead letters, alerts, provisional lines and subscriptions."""
    app, s = w.app, w.settings

    async def store_events(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            oldest = min((e.message.timestamp for e in batch), default=None)
            await store_batch(w, sinks.events, [e.value for e in batch if e.value], oldest)

    async def store_rejected(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            await store_batch(w, sinks.rejected, [rejected_row(e.value) for e in batch if e.value], None)

    async def store_alerts(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            await store_batch(w, sinks.alerts, [e.value for e in batch if e.value], None)

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

    app.agent(accepted, name="meterline.store-events")(crash_only(store_events))
    app.agent(dlq, name="meterline.store-rejected")(crash_only(store_rejected))
    app.agent(alerts, name="meterline.store-alerts")(crash_only(store_alerts))
    app.agent(app.topic(s.topic(topics.RATED)), name="meterline.store-rated")(crash_only(store_rated))
    app.agent(app.topic(s.topic(topics.SUBSCRIPTIONS)), name="meterline.store-subscriptions")(
        crash_only(store_subscriptions)
    )
