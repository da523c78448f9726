"""Events arriving while a worker starts (joins its group, recovers its table, seeks to its committed offsets) are
all rated. Faust's own end of a rebalance could clear a record from live rating's queue after the ClickHouse sink
had taken it from the same fetch (streams/kafka/recovery.py); and a poll over no active partition returned, and
moved past, the records of every partition, undoing the seek to the committed offsets (streams/kafka/polling.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schemas.accepted import encode_rows
from schemas.events import AcceptedEvent, epoch_ms
from schemas.sdk import AsyncUsageClient
from streams.kafka.admin import ensure_topics
from streams.kafka.batches import BatchSender
from streams.settings import Settings
from streams.topics import ACCEPTED, EVENTS
from tests.support.meterline_cli import cli, quotas
from tests.support.processes import start_worker, wait_until

pytestmark = pytest.mark.e2e

#: One accepted record every this many seconds, for this long from the worker's start: some fall in every step
#: of it, the few milliseconds between the seek to the committed offsets and the end of the rebalance too.
EVERY, FOR = 0.005, 15.0


async def accept_while_starting(s: Settings, at: datetime, seconds: float = FOR) -> int:
    """Records on ``usage.accepted`` as another worker's ingest would write them, one event each, for ``seconds``."""
    sender = BatchSender(s.kafka_bootstrap, client_id="test-startup")
    await sender.start()
    sent = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            event = AcceptedEvent(
                event_id=f"e{sent}-{seconds}",
                ts_ms=epoch_ms(at),
                user_id="m1",
                org_id="acme",
                metric="api_calls",
                quantity=Decimal(1),
                source="startup",
                properties={},
                account_id="acme",
            )
            await asyncio.gather(*await sender.send(s.topic(ACCEPTED), [(None, b"acme", encode_rows([event]))]))
            sent += 1
            await asyncio.sleep(EVERY)
    finally:
        await sender.stop()
    return sent


def test_events_sent_while_a_worker_starts_are_all_rated(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    s = stack_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("startup"), "topic_prefix": stack_settings.topic_prefix + "start."}
    )
    asyncio.run(ensure_topics(s))
    start = datetime.now(UTC) - timedelta(hours=1)
    put = ("subscriptions", "put", "--account", "acme", "--kind", "org", "--tier", "standard")
    cli(s, *put, "--anchor", start.date().isoformat(), "--effective-from", start.isoformat())
    at = datetime.now(UTC) - timedelta(minutes=1)
    # Some before the worker starts too, on partitions nobody has committed yet (their first records were the
    # ones lost now and then: fetched as partitions were assigned, cleared from a queue before being taken).
    before = asyncio.run(accept_while_starting(s, at, seconds=1.0))
    worker, _ = start_worker(s, s.data_dir / "w.log")
    try:
        sent = before + asyncio.run(accept_while_starting(s, at))
        assert sent > 200
        wait_until(lambda: quotas(s, "acme").get("api_calls", {}).get("used") == str(sent), 120, "all rated", worker)
        assert worker.terminate() == 0, worker.tail()
    finally:
        worker.terminate()


async def record_while_starting(s: Settings, users: list[str], tag: str, seconds: float) -> dict[str, int]:
    """API calls of ``users`` in turn on ``usage.events``, as a service's SDK sends them, for ``seconds``."""
    sent = dict.fromkeys(users, 0)
    async with AsyncUsageClient(s.kafka_bootstrap, source="startup", topic=s.topic(EVENTS)) as usage:
        deadline, n = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            user = users[n % len(users)]
            await usage.record("api_calls", 1, user_id=user, event_id=f"{tag}-{n}")
            sent[user] += 1
            n += 1
            await asyncio.sleep(EVERY)
    return sent


def test_workers_starting_one_after_another_rate_what_was_sent_while_they_started(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The browser tests' pattern: each worker joins a group whose partitions have committed offsets, with a table
    of its own to recover, while usage keeps coming. Before the fix, the second worker often rated about half."""
    s = stack_settings.model_copy(update={"topic_prefix": stack_settings.topic_prefix + "restart."})
    asyncio.run(ensure_topics(s))
    for i in range(3):
        w = s.model_copy(update={"data_dir": tmp_path_factory.mktemp(f"restart{i}")})
        users = [f"u{i}-{k}" for k in range(8)]  # users' own accounts: spread over every partition
        worker, _ = start_worker(w, w.data_dir / "w.log")
        try:
            sent = asyncio.run(record_while_starting(w, users, f"w{i}", 8.0))

            def rated(users: list[str] = users, sent: dict[str, int] = sent, w: Settings = w) -> bool:
                return all(quotas(w, u).get("api_calls", {}).get("used") == str(sent[u]) for u in users)

            wait_until(rated, 120, f"worker {i} to rate all {sum(sent.values())} events", worker)
            assert worker.terminate() == 0, worker.tail()
        finally:
            worker.terminate()
