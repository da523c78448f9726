"""The live rating agent: usage.accepted → period-to-date table, usage.rated, billing.quota-state, usage.alerts.

Table entries are read and written under the source partition of the events that carried them:
in a ``take`` batch Faust would otherwise file every write under the batch's *last* event's
partition (docs/architecture.md §9), and a rebalance would then lose or misplace state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import orjson

from rating.catalog.loader import Catalog
from rating.quota import Alert
from schemas.accepted import decode_rows
from schemas.events import AcceptedEvent, epoch_ms
from streams import topics
from streams.kafka.batches import BatchSender, Record
from streams.kafka.internals import FAUST_CURRENT_EVENT as _current_event
from streams.live import native
from streams.live.fold import fold_step, forget_memos
from streams.live.resolve import Resolver
from streams.settings import Settings
from streams.subscriptions.registry import SubscriptionRegistry, follow
from streams.worker.crash import crash_only
from streams.worker.metrics import WorkerMetrics, observe_counted

log = logging.getLogger(__name__)


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

    async def say_when_read() -> None:
        await registry.ready.wait()
        log.info("billing.subscriptions read: %d accounts", len(registry.accounts()))

    app.task(crash_only(follow_subscriptions))
    app.task(say_when_read)


#: Rated lines per ``usage.rated`` record (~450 bytes each). The ClickHouse sink takes up to
#: ``sink_take_records`` records per insert and decodes every line: at 1,000 lines a record, one insert
#: of a backlog held up to 400,000 lines at once (~180 MB raw, more decoded).
RATED_LINES_PER_RECORD = 200


#: How often live rating says it is still waiting for the subscriptions to be read (it rates nothing before).
SUBSCRIPTIONS_WAIT_WARN_SECONDS = 30.0


#: Decoded table entries kept between steps (about 1 KB each); beyond it the cache starts over.
MAX_CACHED_ENTRIES = 200_000


#: RocksDB of the live table, one database per partition. Faust's defaults (64 MB write buffers, three
#: of them, a 2 GB block cache) are sized for large tables; this one holds a small entry per account,
#: rewritten every step, and its memtables could hold up to ~190 MB a partition before flushing.
LIVE_TABLE_ROCKSDB = {
    "write_buffer_size": 8 << 20,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 << 20,
    "block_cache_size": 32 << 20,
    "block_cache_compressed_size": 8 << 20,
}


def register_rating(
    app: faust.App, s: Settings, catalog: Catalog, registry: SubscriptionRegistry, metrics: WorkerMetrics
) -> None:
    native.use(s.live_kernel)
    accepted = app.topic(s.topic(topics.ACCEPTED))
    rated_name, quota_name, alerts_name = (s.topic(t) for t in (topics.RATED, topics.QUOTA_STATE, topics.ALERTS))
    # Raw bytes both ways: a Table without types reads its changelog as JSON, so a recovery (a partition
    # moving to another worker after a crash or rebalance) could not decode the raw records and stalled.
    table = app.Table(
        "live-usage",
        default=None,
        partitions=s.topic_partitions,
        key_type=bytes,
        value_type=bytes,
        options=LIVE_TABLE_ROCKSDB,
    )
    resolver = Resolver(registry, catalog)
    # Decoded entries of the accounts this worker rated, so a step reads and decodes only new ones.
    # Only this worker writes the entries of its partitions; any rebalance drops the cache (another
    # worker may have written them meanwhile, and recovery rewrites the store).
    entries: dict[str, dict[str, Any]] = {}

    async def forget_entries(*_: Any, **__: Any) -> None:
        entries.clear()
        forget_memos()

    app.on_partitions_revoked.connect(forget_entries)
    app.on_partitions_assigned.connect(forget_entries)
    sender = BatchSender(s.kafka_bootstrap, client_id=f"meterline-rating-{s.worker_id}")

    async def subscriptions_read() -> None:
        """Until the subscriptions are read: nothing is rated before (it would be rated as no plan)."""
        waited = 0.0
        while not registry.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(registry.ready.wait(), SUBSCRIPTIONS_WAIT_WARN_SECONDS)
            waited += SUBSCRIPTIONS_WAIT_WARN_SECONDS
            if not registry.ready.is_set():
                log.warning("live rating has waited %.0f s for billing.subscriptions to be read", waited)

    async def rate(stream: faust.StreamT[Any]) -> None:
        await subscriptions_read()
        await sender.start()
        log.info(
            "live rating started; plain counter groups rated by %s",
            "the native kernel" if native.kernel is not None else "Python (kernel not installed, or switched off)",
        )
        try:
            async for batch in stream.take_events(s.rate_take_records, within=s.rate_linger_seconds):
                await rate_events(batch)
        finally:
            await sender.stop()

    async def rate_events(batch: Sequence[Any]) -> None:
        carriers: dict[int, Any] = {}  # source partition -> one of its events (table I/O goes there)
        accounts: dict[str, int] = {}  # routing account -> its source partition
        events: list[AcceptedEvent] = []
        for e in batch:
            partition = e.message.partition
            carriers.setdefault(partition, e)
            rows = decode_rows(e.value or b"")
            events += rows
            for account in {ev.account_id for ev in rows}:
                accounts.setdefault(account, partition)
        by_partition: dict[int, list[str]] = {}
        for account, partition in accounts.items():
            by_partition.setdefault(partition, []).append(account)
        store = table.data
        states: dict[str, dict[str, Any] | None] = {}
        for partition, carrier in carriers.items():
            with acting_as(carrier):
                for account in by_partition[partition]:
                    cached = entries.get(account)
                    states[account] = cached if cached is not None else _entry(store.get(account.encode()))
        now = datetime.now(UTC)
        out = fold_step(events, states, resolver, now)  # rate_batch's outputs, faster (streams/live/fold.py)

        # The table is written straight into its RocksDB store and its changelog as batches: a Table
        # assignment costs ~180 µs (a Faust send per key), which at thousands of accounts per batch was
        # most of the stage's time. The records are the same raw bytes Faust writes, so recovery and
        # standbys read them as their own; the persisted offset is kept as Faust keeps it.
        changelog: list[Record] = []
        for partition, carrier in carriers.items():
            with acting_as(carrier):
                for account in by_partition[partition]:
                    entry = out.states.get(account)
                    if entry is not None:
                        key, value = account.encode(), orjson.dumps(entry)
                        store[key] = value
                        changelog.append((partition, key, value))
        if len(entries) > MAX_CACHED_ENTRIES:
            entries.clear()
        entries.update(out.states)
        changelog_topic = table.changelog_topic.get_topic_name()
        quota_records: list[Record] = [(None, key, value) for key, value in out.quota_records]
        futures = await sender.send(changelog_topic, changelog)
        futures += await sender.send(
            rated_name,
            (
                (None, None, b"\n".join(out.rated[i : i + RATED_LINES_PER_RECORD]))
                for i in range(0, len(out.rated), RATED_LINES_PER_RECORD)
            ),
        )
        futures += await sender.send(quota_name, quota_records)
        futures += await sender.send(alerts_name, ((None, a.account_id.encode(), _alert_json(a)) for a in out.alerts))
        delivered = await asyncio.gather(*futures)
        for meta in delivered:
            if meta.topic == changelog_topic:
                store.set_persisted_offset(meta.topic_partition, meta.offset)
        done_ms = epoch_ms(datetime.now(UTC))
        # Only future-dated replays could be negative: clamp.
        ages = Tally([ev.ts_ms for ev in events])  # counted in C: a step's events share milliseconds
        observe_counted(metrics.event_to_quota_seconds, ((max(0, done_ms - ts) / 1000, n) for ts, n in ages.items()))
        metrics.rated_events.inc(len(events))
        metrics.rate_batch_events.observe(len(events))
        metrics.rated_lines.inc(len(out.rated))
        for a in out.alerts:
            metrics.alerts_raised.labels(a.kind).inc()

    app.agent(accepted, name="meterline.rate")(crash_only(rate))
