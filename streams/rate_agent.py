"""The live rating agent: usage.accepted → period-to-date table, usage.rated, billing.quota-state, usage.alerts.

Table entries are read and written under the source partition of the events that carried them:
in a ``take`` batch Faust would otherwise file every write under the batch's *last* event's
partition (DESIGN §9), and a rebalance would then lose or misplace state.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.streams import _current_event

from rating.catalog.loader import Catalog
from rating.quota import Alert
from schemas.accepted import decode_rows
from schemas.events import AcceptedEvent, epoch_ms
from streams import topics
from streams.crash import crash_only
from streams.live_rating import rate_batch
from streams.metrics import WorkerMetrics
from streams.settings import Settings
from streams.subscription_registry import SubscriptionRegistry, follow


@contextlib.contextmanager
def acting_as(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's current event, so table I/O uses its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def _entry(raw: Any) -> dict[str, Any] | None:
    """A table value as a dict: bytes as written, or already decoded when Faust rebuilt the table
    from its changelog (recovery hands back deserialized values)."""
    if raw is None or raw == b"":
        return None
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, bytes | bytearray | memoryview | str):
        doc = orjson.loads(raw)
        return doc if isinstance(doc, dict) else None
    raise TypeError(f"unexpected live-usage table value {type(raw).__name__}")


def _alert_json(a: Alert) -> bytes:
    return orjson.dumps(
        {
            "account_id": a.account_id,
            "metric": a.metric,
            "period": a.period,
            "kind": a.kind,
            "threshold": f"{a.threshold:f}",
            "used": f"{a.used:f}",
            "at": a.at.isoformat(),
        }
    )


def register_subscriptions(app: faust.App, s: Settings, registry: SubscriptionRegistry) -> None:
    """Keep ``registry`` following ``billing.subscriptions`` (live rating and settlement read it)."""
    stop = asyncio.Event()

    async def follow_subscriptions() -> None:
        await follow(registry, s.kafka_bootstrap, s.topic(topics.SUBSCRIPTIONS), stop)

    app.task(crash_only(follow_subscriptions))


def register_rating(
    app: faust.App, s: Settings, catalog: Catalog, registry: SubscriptionRegistry, metrics: WorkerMetrics
) -> None:
    accepted = app.topic(s.topic(topics.ACCEPTED))
    rated = app.topic(s.topic(topics.RATED))
    quota_name, alerts_name = s.topic(topics.QUOTA_STATE), s.topic(topics.ALERTS)
    # Raw bytes both ways: a Table without types reads its changelog as JSON, so a recovery (a partition
    # moving to another worker after a crash or rebalance) could not decode the raw records and stalled.
    table = app.Table("live-usage", default=None, partitions=s.topic_partitions, key_type=bytes, value_type=bytes)

    async def rate(stream: faust.StreamT[Any]) -> None:
        await registry.ready.wait()  # never rate before the subscriptions are known
        async for batch in stream.take_events(s.sink_take_records, within=s.sink_linger_seconds):
            await rate_events(batch)

    async def rate_events(batch: Sequence[Any]) -> None:
        carrier: dict[str, Any] = {}  # routing account -> a source event of its partition
        events: list[AcceptedEvent] = []
        for e in batch:
            for ev in decode_rows(e.value or b""):
                carrier.setdefault(ev.account_id, e)
                events.append(ev)
        states: dict[str, dict[str, Any] | None] = {}
        for account, e in carrier.items():
            with acting_as(e):
                raw = table.get(account.encode())
            states[account] = _entry(raw)
        now = datetime.now(UTC)
        out = rate_batch(events, states, registry, catalog, now)
        for account, entry in out.states.items():
            with acting_as(carrier[account]):
                table[account.encode()] = orjson.dumps(entry)
        # Per-message Faust sends cost more than the rating itself: rated lines go out as JSON-lines
        # records, quota states and alerts straight through the producer (one record per key, as
        # compaction and consumers need).
        producer = app.producer
        pending = [
            await rated.send(value=b"\n".join(out.rated[i : i + 1000]), force=True)
            for i in range(0, len(out.rated), 1000)
        ]
        for q in out.quotas:
            key = f"{q.account_id}:{q.metric}".encode()
            pending.append(await producer.send(quota_name, key, orjson.dumps(q.to_record()), None, None, None))
        for a in out.alerts:
            pending.append(await producer.send(alerts_name, a.account_id.encode(), _alert_json(a), None, None, None))
        await asyncio.gather(*pending)
        done_ms = epoch_ms(datetime.now(UTC))
        for ev in events:  # only future-dated replays could be negative: clamp
            metrics.event_to_quota_seconds.observe(max(0, done_ms - ev.ts_ms) / 1000)
        metrics.rated_events.inc(len(events))
        for a in out.alerts:
            metrics.alerts_raised.labels(a.kind).inc()

    app.agent(accepted, name="meterline.rate")(crash_only(rate))
