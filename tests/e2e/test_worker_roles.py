"""Ingest and ClickHouse writing split over two processes (one per core): same result as one worker."""

from __future__ import annotations

import asyncio

import clickhouse_connect
import pytest

from schemas.sdk import AsyncUsageClient
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ACCEPTED, EVENTS
from tests.support.processes import drained, scrape, start_worker, wait_until

pytestmark = pytest.mark.e2e


async def _send(s: Settings, n: int) -> None:
    async with AsyncUsageClient(s.kafka_bootstrap, source="roles", topic=s.topic(EVENTS)) as usage:
        for i in range(n):
            await usage.record("api_calls", 3, user_id=f"u{i % 50}", event_id=f"role-{i}")
        for i in range(0, n, 4):  # replays
            await usage.record("api_calls", 3, user_id=f"u{i % 50}", event_id=f"role-{i}")


def test_ingest_and_sink_roles(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    s = stack_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("roles"), "topic_prefix": stack_settings.topic_prefix + "roles."}
    )
    asyncio.run(ensure_topics(s))
    ingest, ingest_port = start_worker(s, s.data_dir / "ingest.log", role="ingest")
    sink, sink_port = start_worker(s, s.data_dir / "sink.log", role="sink")
    try:
        asyncio.run(_send(s, 2000))
        key = 'meterline_sink_rows_total{table="meterline.events"}'
        wait_until(lambda: scrape(sink_port).get(key, 0) >= 2000, 120, "rows stored by the sink", sink)
        wait_until(lambda: drained(sink_port, (s.topic(ACCEPTED),)), 60, "the sink to commit", sink)
        assert scrape(ingest_port)["meterline_events_accepted_total"] == 2000
        assert scrape(ingest_port)["meterline_events_duplicate_total"] == 500
        assert "meterline_events_in_total" in scrape(sink_port)  # same metrics, only its own agents run
        assert scrape(sink_port)["meterline_events_in_total"] == 0
    finally:
        ingest.terminate()
        assert sink.terminate() == 0, sink.tail()
    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:
        assert ch.query("SELECT count(), sum(quantity) FROM meterline.events FINAL").result_rows[0] == (2000, 6000)
    finally:
        ch.close()
