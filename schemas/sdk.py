"""The producer SDK services embed: validate at the caller, batch, send idempotently to Kafka.

    async with AsyncUsageClient("127.0.0.1:9092", source="chat") as usage:
        await usage.record("ai_requests", 1, user_id="u-1", org_id="org-9",
                           properties={"provider": "openai", "model": "gpt-4o",
                                       "input_tokens": 1200, "output_tokens": 300})

``UsageClient`` is the same for synchronous code (a background thread runs the event loop) and
flushes when the interpreter exits. Events are grouped by the partition their record key
(``org_id`` or ``user_id``) hashes to, and one Kafka record carries a batch of up to
``batch_size`` events (the envelope of docs/events.md): that is what lets the pipeline reach
100k events/s (docs/architecture.md §9). Memory is bounded: past ``max_pending`` unsent events, ``record``
waits (async) or blocks (sync) until Kafka has caught up.

A gateway checks metric entitlements in its own process with ``QuotaStateFollower`` and its
``EntitlementCache`` (schemas/entitlements.py, docs/gateways.md): answers in microseconds from
``billing.quota-state``, bounded and expiring.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from schemas.entitlements import EntitlementCache, LocalEntitlement, QuotaStateFollower
from schemas.errors import BufferFull, ClientClosed, DeliveryError, InvalidEvent
from schemas.events import UsageEvent
from schemas.partitioning import partition_for

__all__ = [
    "AsyncUsageClient",
    "EntitlementCache",
    "LocalEntitlement",
    "QuotaStateFollower",
    "UsageClient",
    "build_event",
]

DEFAULT_TOPIC = "usage.events"
_encoder = msgspec.json.Encoder()


def build_event(
    metric: str,
    quantity: int | str | Decimal,
    *,
    user_id: str,
    source: str,
    org_id: str | None = None,
    properties: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    timestamp: datetime | int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> UsageEvent:
    """A validated event; raises ``InvalidEvent`` naming each problem. ``float`` quantities are refused."""
    if isinstance(quantity, float):
        raise InvalidEvent("quantity must be int, Decimal or a decimal string, not float (money and usage are exact)")
    try:
        return UsageEvent(
            event_id=event_id or str(uuid.uuid4()),
            timestamp=now() if timestamp is None else timestamp,  # type: ignore[arg-type]
            user_id=user_id,
            org_id=org_id,
            metric=metric,  # type: ignore[arg-type]
            quantity=quantity,  # type: ignore[arg-type]
            properties=dict(properties or {}),
            source=source,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidEvent(f"invalid usage event: {problems}") from exc


class AsyncUsageClient:
    """Batches validated events into envelopes per partition and sends them with an idempotent producer."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        source: str,
        topic: str = DEFAULT_TOPIC,
        batch_size: int = 500,
        linger: float = 0.05,
        max_pending: int = 50_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        producer_options: Mapping[str, Any] | None = None,
    ) -> None:
        if batch_size < 1 or max_pending < batch_size:
            raise ValueError("need 1 <= batch_size <= max_pending")
        self.source, self.topic = source, topic
        self._batch_size, self._linger, self._max_pending = batch_size, linger, max_pending
        self._clock = clock
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_request_size=8 * 1024 * 1024,
            **dict(producer_options or {}),
        )
        self._partitions = 0
        self._buffers: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
        self._pending = 0  # buffered + in flight
        self._space = asyncio.Condition()
        self._inflight: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._linger_task: asyncio.Task[None] | None = None
        self._closed = False
        self._on_space: Callable[[], None] | None = None  # the sync client's wake-up on freed room

    async def start(self) -> None:
        await self._producer.start()
        self._partitions = len(await self._producer.partitions_for(self.topic))
        self._linger_task = asyncio.create_task(self._linger_loop())

    async def __aenter__(self) -> AsyncUsageClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pending(self) -> int:
        return self._pending

    async def record(
        self,
        metric: str,
        quantity: int | str | Decimal,
        *,
        user_id: str,
        org_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        timestamp: datetime | int | None = None,
        source: str | None = None,
    ) -> str:
        """Validate and buffer one event; returns its ``event_id``. Raises ``InvalidEvent`` at once.

        ``event_id`` defaults to a new uuid4, ``timestamp`` to the client's clock, ``source`` to the
        client's. Waits while ``max_pending`` events are unsent (back-pressure).
        """
        ev = build_event(
            metric,
            quantity,
            user_id=user_id,
            source=source or self.source,
            org_id=org_id,
            properties=properties,
            event_id=event_id,
            timestamp=timestamp,
            now=self._clock,
        )
        await self.send(ev)
        return ev.event_id

    async def send(self, event: UsageEvent) -> None:
        """Buffer an already validated event (waits while ``max_pending`` events are unsent)."""
        if self._closed:
            raise ClientClosed("this usage client is closed")
        if not self._partitions:
            raise ClientClosed("call start() (or use 'async with') before recording")
        async with self._space:
            await self._space.wait_for(lambda: self._pending < self._max_pending)
            self._enqueue(event)

    def _enqueue(self, event: UsageEvent) -> None:
        """Buffer one event whose room was already reserved (event-loop thread only)."""
        self._pending += 1
        key = event.account_id
        partition = partition_for(key, self._partitions)
        buf = self._buffers[partition]
        buf.append((key, _encoder.encode(event.wire())))
        if len(buf) >= self._batch_size:
            self._ship(partition)

    def _ship(self, partition: int) -> None:
        items = self._buffers.pop(partition, [])
        if items:
            task = asyncio.create_task(self._deliver(partition, items))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _deliver(self, partition: int, items: list[tuple[str, bytes]]) -> None:
        value = b'{"events":[' + b",".join(e for _, e in items) + b"]}"
        try:
            await (await self._producer.send(self.topic, value, key=items[0][0].encode(), partition=partition))
        except Exception as exc:
            # Keep the events: the next flush retries them (event_id makes a resend harmless).
            self._error = exc
            self._buffers[partition][:0] = items
            return
        async with self._space:
            self._pending -= len(items)
            self._space.notify_all()
        if self._on_space is not None:
            self._on_space()

    async def _linger_loop(self) -> None:
        while True:
            await asyncio.sleep(self._linger)
            for p in list(self._buffers):
                self._ship(p)

    async def flush(self) -> None:
        """Send everything buffered and wait for Kafka's acknowledgement; raises ``DeliveryError``."""
        for p in list(self._buffers):
            self._ship(p)
        while self._inflight:
            await asyncio.gather(*list(self._inflight))
        if self._error is not None:
            err, self._error = self._error, None
            raise DeliveryError(f"Kafka did not acknowledge a batch: {err}") from err

    async def close(self) -> None:
        """Flush and stop; idempotent."""
        if self._closed:
            return
        try:
            if self._partitions:
                await self.flush()
        finally:
            self._closed = True
            if self._linger_task:
                self._linger_task.cancel()
            await self._producer.stop()


class UsageClient:
    """The synchronous SDK: same behaviour, an event loop in a daemon thread, flushed at exit."""

    def __init__(self, bootstrap_servers: str, *, source: str, block_timeout: float = 30.0, **options: Any) -> None:
        self._timeout = block_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="meterline-usage", daemon=True)
        self._thread.start()
        self.source = source
        self._clock: Callable[[], datetime] = options.get("clock", lambda: datetime.now(UTC))

        async def make() -> AsyncUsageClient:
            c = AsyncUsageClient(bootstrap_servers, source=source, **options)
            await c.start()
            return c

        try:
            self._client: AsyncUsageClient = self._call(make())
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise
        # Room in the bounded buffer, shared by the caller threads and the loop thread: ``_reserved``
        # counts events a caller has claimed room for that the loop has not buffered yet.
        self._room = threading.Condition()
        self._reserved = 0
        self._closed = False
        self._client._on_space = self._wake
        atexit.register(self.close)

    def _wake(self) -> None:  # loop thread, after Kafka acknowledged a batch
        with self._room:
            self._room.notify_all()

    def _enqueue(self, event: UsageEvent) -> None:  # loop thread, in the order callers recorded
        with self._room:
            self._reserved -= 1
            self._client._enqueue(event)

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout=timeout or self._timeout)
        except TimeoutError as exc:
            fut.cancel()
            raise DeliveryError(f"timed out after {timeout or self._timeout}s waiting for Kafka") from exc

    def record(
        self,
        metric: str,
        quantity: int | str | Decimal,
        *,
        user_id: str,
        org_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        timestamp: datetime | int | None = None,
        source: str | None = None,
    ) -> str:
        """Validate in the caller's thread (raises ``InvalidEvent``), then buffer.

        Blocks while ``max_pending`` events are unsent; raises ``BufferFull`` after ``block_timeout``.
        """
        ev = build_event(
            metric,
            quantity,
            user_id=user_id,
            source=source or self.source,
            org_id=org_id,
            properties=properties,
            event_id=event_id,
            timestamp=timestamp,
            now=self._clock,
        )
        if self._closed:
            raise ClientClosed("this usage client is closed")
        limit = self._client._max_pending
        with self._room:
            if not self._room.wait_for(lambda: self._client.pending + self._reserved < limit, self._timeout):
                raise BufferFull(
                    f"waited {self._timeout}s for room: {self._client.pending} events still unsent to Kafka"
                )
            self._reserved += 1
        # No round trip: the loop thread buffers it; callbacks run in order, so per-account order holds.
        self._loop.call_soon_threadsafe(self._enqueue, ev)
        return ev.event_id

    def flush(self, timeout: float | None = None) -> None:
        self._call(self._client.flush(), timeout)

    def close(self) -> None:
        """Flush, stop the producer and the thread; idempotent, also run at interpreter exit."""
        if self._closed or not self._loop.is_running():
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def __enter__(self) -> UsageClient:
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
