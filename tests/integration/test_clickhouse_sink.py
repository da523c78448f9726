"""The ClickHouse row sink and migrations against the real engine (embedded chDB)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from sinks.clickhouse.migrations import load_migrations, migrate
from sinks.clickhouse.row_sink import RowSink
from sinks.errors import SinkRejected, SinkUnavailable
from sinks.retry import RetryPolicy

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("chdb")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, "mt", NOW)
    yield client
    client.close()


def _row(event_id: str, account: str = "org-1", qty: str = "1", ts_ms: int = 1795000000123) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "account_id": account,
            "user_id": "u-1",
            "org_id": account,
            "metric": "ai_requests",
            "quantity": qty,
            "ts_ms": ts_ms,
            "properties": {"provider": "openai", "model": "gpt-4o", "input_tokens": "120", "output_tokens": "30"},
            "source": "chat",
        }
    )


def test_migrate_is_idempotent_and_versioned(ch: Any) -> None:
    assert migrate(ch, "mt", NOW) == []
    versions = [r[0] for r in ch.query("SELECT version FROM mt.schema_migrations FINAL ORDER BY version").result_rows]
    assert versions == [m.version for m in load_migrations()]
    tables = {r[0] for r in ch.query("SHOW TABLES FROM mt").result_rows}
    assert {"events", "rejected_events", "schema_migrations"} <= tables


def test_invalid_database_name_refused(ch: Any) -> None:
    with pytest.raises(SinkRejected):
        migrate(ch, "bad-name; DROP", NOW)


async def test_replayed_batch_changes_no_query_result(ch: Any) -> None:
    sink = RowSink(ch, "mt.events")
    rows = [_row(f"evt-{i}", qty="2.5") for i in range(100)]
    await sink.write(rows)
    await sink.write(rows[:50])  # a replay after a crash re-sends part of the batch
    count, total, tokens = ch.query(
        "SELECT count(), sum(quantity), sum(input_tokens) FROM mt.events FINAL WHERE event_id LIKE 'evt-%'"
    ).result_rows[0]
    assert count == 100
    assert str(total) == "250.000000000"
    assert tokens == 12000
    # The analysts' dedupe without FINAL gives the same answer.
    assert (
        ch.query(
            "SELECT count() FROM (SELECT event_id FROM mt.events WHERE event_id LIKE 'evt-%' LIMIT 1 BY event_id)"
        ).result_rows[0][0]
        == 100
    )


class FlakyClient:
    """Failure injection: the first ``failures`` inserts fail like a ClickHouse outage."""

    def __init__(self, inner: Any, failures: int, message: str = "Connection refused") -> None:
        self.inner, self.failures, self.message, self.calls = inner, failures, message, 0

    def raw_insert(self, table: str, column_names: Any = None, insert_block: Any = None, **kw: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(self.message)
        return self.inner.raw_insert(table, column_names, insert_block=insert_block, **kw)


async def test_outage_is_retried_until_written(ch: Any) -> None:
    flaky = FlakyClient(ch, failures=3)
    errors: list[str] = []
    sink = RowSink(
        flaky,
        "mt.events",
        policy=RetryPolicy(initial=0.01, maximum=0.05),
        on_error=lambda t, e: errors.append(type(e).__name__),
    )
    await sink.write([_row("outage-1")])
    assert flaky.calls == 4
    assert errors == ["SinkUnavailable"] * 3
    assert ch.query("SELECT count() FROM mt.events FINAL WHERE event_id = 'outage-1'").result_rows[0][0] == 1


async def test_rejected_write_is_not_retried(ch: Any) -> None:
    sink = RowSink(ch, "mt.no_such_table", policy=RetryPolicy(initial=0.01))
    with pytest.raises(SinkRejected):
        await sink.write([_row("x")])


async def test_bounded_retries_give_up_with_retriable_error(ch: Any) -> None:
    flaky = FlakyClient(ch, failures=10)
    sink = RowSink(flaky, "mt.events", policy=RetryPolicy(initial=0.001, maximum=0.002, max_attempts=3))
    with pytest.raises(SinkUnavailable):
        await sink.write([_row("never")])
    assert flaky.calls == 3
