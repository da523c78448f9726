"""A worker killed with SIGKILL mid-stream and restarted loses no event and stores none twice."""

from __future__ import annotations

import asyncio
import random

import clickhouse_connect
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas.partitioning import partition_for
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ACCEPTED, EVENTS
from tests.support.processes import drained, scrape, start_worker, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 150_000
BATCH = 500
TS0 = 1_795_400_000_000  # 2026-11-22, inside the allowed lateness


async def _produce(s: Settings) -> None:
    rng = random.Random(3)
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, linger_ms=20, max_request_size=8 << 20)
    await producer.start()
    try:
        buffers: dict[int, list[bytes]] = {}
        futures = []
        for i in range(N):
            user = f"u{rng.randrange(2000)}"
            ev = {
                "event_id": f"crash-{i}",
                "timestamp": TS0 + i,
                "user_id": user,
                "metric": "api_calls",
                "quantity": 2,
                "source": "crash-test",
            }
            p = partition_for(user, s.topic_partitions)
            buf = buffers.setdefault(p, [])
            buf.append(orjson.dumps(ev))
            if len(buf) == BATCH:
                futures.append(
                    await producer.send(s.topic(EVENTS), b'{"events":[' + b",".join(buf) + b"]}", partition=p)
                )
                buffers[p] = []
        for p, buf in buffers.items():
            if buf:
                futures.append(
                    await producer.send(s.topic(EVENTS), b'{"events":[' + b",".join(buf) + b"]}", partition=p)
                )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_kill_9_mid_ingest_then_restart(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    s = stack_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("crash"), "topic_prefix": stack_settings.topic_prefix + "crash."}
    )
    asyncio.run(ensure_topics(s))
    asyncio.run(_produce(s))  # a backlog, so the kill lands while batches are in flight
    key = 'meterline_sink_rows_total{table="meterline.events"}'

    worker, port = start_worker(s, s.data_dir / "worker-1.log")
    wait_until(lambda: scrape(port).get(key, 0) > 0, 120, "the first rows in ClickHouse", worker)
    stored_before_kill = scrape(port).get(key, 0)
    worker.kill9()
    assert stored_before_kill < N, "the worker finished before the kill: raise N"

    worker, port = start_worker(s, s.data_dir / "worker-2.log")
    # Everything not committed before the kill is read again; wait until all of it is committed,
    # i.e. written (replayed rows also count in the sink metric, so the metric alone cannot say).
    wait_until(lambda: scrape(port).get(key, 0) >= N - stored_before_kill, 180, "the rest of the rows", worker)
    # As long as the rows' wait: right after the broker-down fault test the broker may still be moving leaders.
    wait_until(lambda: drained(port, (s.topic(EVENTS), s.topic(ACCEPTED))), 180, "zero lag", worker)
    assert worker.terminate() == 0, worker.tail()

    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:
        count, uniq, total = ch.query(
            "SELECT count(), uniqExact(event_id), sum(quantity) FROM meterline.events FINAL WHERE source = 'crash-test'"
        ).result_rows[0]
        assert (count, uniq, int(total)) == (N, N, 2 * N)
        # Without FINAL, an analyst's `LIMIT 1 BY event_id` gives the same answer.
        deduped = ch.query(
            "SELECT count() FROM (SELECT event_id FROM meterline.events "
            "WHERE source = 'crash-test' LIMIT 1 BY event_id)"
        ).result_rows[0][0]
        assert deduped == N
    finally:
        ch.close()
