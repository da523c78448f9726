"""The ClickHouse ``events`` table deduplicates by ``(source, event_id)`` (docs/analytics.md), and migration
0011 rebuilds a store created with the old key (``event_id`` alone) keeping every row, idempotently, also
when stopped half-way. Real engine (embedded chDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from rating.catalog.loader import load_catalog
from sinks.clickhouse import migrations
from sinks.clickhouse.migrations import Migration, guard, load_migrations, migrate
from sinks.clickhouse.settlement import SettlementStore
from streams.settlement.settler import Settler

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
AT = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)

# 0001 as shipped before 0011: the sorting key ends with event_id alone.
OLD_EVENTS = """
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id String, account_id String, user_id String, org_id Nullable(String), metric LowCardinality(String),
    quantity Decimal(38, 9), ts_ms Int64,
    timestamp DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(ts_ms, 'UTC'),
    properties Map(String, String), source LowCardinality(String), stored_at DateTime64(3, 'UTC') DEFAULT now64(3),
    provider LowCardinality(String) MATERIALIZED properties['provider'],
    model LowCardinality(String) MATERIALIZED properties['model'],
    feature LowCardinality(String) MATERIALIZED properties['feature'],
    input_tokens UInt64 MATERIALIZED toUInt64OrZero(properties['input_tokens']),
    output_tokens UInt64 MATERIALIZED toUInt64OrZero(properties['output_tokens'])
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (account_id, metric, toStartOfHour(timestamp), event_id);
"""


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("chdb-key")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    yield client
    client.close()


def _rows(*events: tuple[str, str, int], account: str = "org-1") -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "event_id": event_id,
                "account_id": account,
                "user_id": "u-1",
                "org_id": account,
                "metric": "ai_requests",
                "quantity": str(q),
                "ts_ms": int(AT.timestamp() * 1000),
                "properties": {"provider": "openai", "model": "gpt-4o", "input_tokens": "10"},
                "source": source,
            }
        )
        + b"\n"
        for source, event_id, q in events
    )


def _insert(ch: Any, db: str, rows: bytes) -> None:
    ch.raw_insert(f"{db}.events", None, insert_block=rows, fmt="JSONEachRow")


def _old_store(ch: Any, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store migrated up to 0010 with the old ``events`` table, holding rows (one stored twice)."""
    old = [
        Migration(m.version, m.name, OLD_EVENTS if m.version == 1 else m.sql)
        for m in load_migrations()
        if m.version <= 10
    ]
    with monkeypatch.context() as mp:
        mp.setattr(migrations, "load_migrations", lambda: old)
        migrate(ch, db, NOW)
    rows = _rows(("chat", "a-1", 250), ("chat", "a-2", 5), ("billing-api", "a-3", 1))
    _insert(ch, db, rows)
    _insert(ch, db, rows[: rows.index(b"\n") + 1])  # a replayed row


def _state(ch: Any, db: str) -> tuple[str, list[tuple[str, str, Decimal, int]], list[str]]:
    key = ch.query(f"SELECT sorting_key FROM system.tables WHERE database = '{db}' AND name = 'events'")
    rows = ch.query(
        f"SELECT source, event_id, toString(quantity), input_tokens FROM {db}.events FINAL ORDER BY source, event_id"
    ).result_rows
    tables = [r[0] for r in ch.query(f"SHOW TABLES FROM {db}").result_rows]
    return key.result_rows[0][0], [(s, e, Decimal(q), int(t)) for s, e, q, t in rows], tables


OLD_ROWS = [
    ("billing-api", "a-3", Decimal(1), 10),
    ("chat", "a-1", Decimal(250), 10),
    ("chat", "a-2", Decimal(5), 10),
]
NEW_KEY = "account_id, metric, toStartOfHour(timestamp), source, event_id"


def test_0011_rebuilds_an_old_events_table_keeping_its_rows(ch: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _old_store(ch, "old_a", monkeypatch)
    assert _state(ch, "old_a")[0] == "account_id, metric, toStartOfHour(timestamp), event_id"
    applied = [m.version for m in migrate(ch, "old_a", NOW)]
    assert 11 in applied
    key, rows, tables = _state(ch, "old_a")
    assert (key, rows) == (NEW_KEY, OLD_ROWS)
    assert "events_0011" not in tables
    assert migrate(ch, "old_a", NOW) == []
    assert _state(ch, "old_a")[:2] == (NEW_KEY, OLD_ROWS)


@pytest.mark.parametrize("steps_done", [1, 2, 3])
def test_0011_stopped_half_way_completes_when_run_again(
    ch: Any, monkeypatch: pytest.MonkeyPatch, steps_done: int
) -> None:
    db = f"old_b{steps_done}"
    _old_store(ch, db, monkeypatch)
    (m11,) = [m for m in load_migrations() if m.version == 11]
    for stmt in m11.statements(db)[:steps_done]:  # create, copy, swap: then the process died
        ch.command(stmt)
    migrate(ch, db, NOW)
    key, rows, tables = _state(ch, db)
    assert (key, rows) == (NEW_KEY, OLD_ROWS)
    assert "events_0011" not in tables


def test_every_0011_step_is_guarded() -> None:
    (m11,) = [m for m in load_migrations() if m.version == 11]
    *steps, check = m11.statements("db")
    assert all(guard(s) for s in steps) and guard(check) is None
    assert guard("-- a comment\nCREATE TABLE t (x UInt8) ENGINE = Memory") is None


def test_0011_undone_by_a_racing_swap_fails_and_completes_when_run_again(
    ch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old_store(ch, "old_c", monkeypatch)
    (m11,) = [m for m in load_migrations() if m.version == 11]
    create, copy, swap, _, _ = m11.statements("old_c")
    for stmt in (create, copy, swap):
        ch.command(stmt)
    ch.command(swap)  # a second migrator, which checked the guard before the first swapped, swaps back
    assert _state(ch, "old_c")[0] != NEW_KEY
    # The first migrator goes on: its drop is skipped (old key), its check fails, 0011 is not recorded.
    drop, check = m11.statements("old_c")[3:]
    cond = guard(drop)
    assert cond is not None and not ch.query(cond).result_rows[0][0]
    with pytest.raises(Exception, match="old sorting key"):
        ch.command(check)
    migrate(ch, "old_c", NOW)
    key, rows, tables = _state(ch, "old_c")
    assert (key, rows) == (NEW_KEY, OLD_ROWS)
    assert "events_0011" not in tables


def test_the_same_id_of_two_sources_is_two_events_and_a_replay_is_one(ch: Any) -> None:
    migrate(ch, "fresh", NOW)
    assert _state(ch, "fresh")[0] == NEW_KEY  # a new store is created with the new key
    rows = _rows(("api:org-1", "chat-req-42", 0), ("chat", "chat-req-42", 250), ("api:org-2", "x-1", 9))
    for _ in range(2):  # at-least-once: every row written twice
        _insert(ch, "fresh", rows)
    store = SettlementStore(ch, "fresh")
    got = sorted((e.event_id, e.quantity) for e in store.events(AT - timedelta(hours=1), NOW))
    assert got == [("chat-req-42", Decimal(0)), ("chat-req-42", Decimal(250)), ("x-1", Decimal(9))]
    ch.command("OPTIMIZE TABLE fresh.events FINAL")
    assert ch.query("SELECT count() FROM fresh.events").result_rows[0][0] == 3
    Settler(store, load_catalog(), lambda _: None, lambda: [], visibility_margin=timedelta(0)).settle(
        NOW, datetime.now(UTC)
    )
    hourly = ch.query(
        "SELECT routing_account, toString(quantity), events, input_tokens FROM fresh.usage_hourly FINAL "
        "WHERE metric = 'ai_requests' ORDER BY routing_account"
    ).result_rows
    assert [(a, Decimal(q), int(n), int(t)) for a, q, n, t in hourly] == [("org-1", Decimal(259), 3, 30)]
