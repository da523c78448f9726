"""The warehouse bridge as a real process: several processes share one chDB directory over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from deploy.local import stack
from deploy.local.warehouse import Warehouse
from sinks.clickhouse.migrations import load_migrations, migrate
from sinks.clickhouse.row_sink import RowSink
from sinks.errors import SinkRejected, SinkUnavailable
from sinks.retry import RetryPolicy
from streams.settings import WAREHOUSE_INFO, bridge_port_for, connect_clickhouse, load_settings
from tests.support.processes import free_port

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RESERVED_PORTS = {8123, 9092, 9093, 12111, 12112}  # a running local stack may hold them

MIXED_DDL = """
CREATE TABLE IF NOT EXISTS wb.mixed
(
    id       UInt64,
    writer   LowCardinality(String),
    quantity Decimal(38, 9),
    ts       DateTime64(3, 'UTC'),
    props    Map(String, String),
    org_id   Nullable(String)
)
ENGINE = MergeTree ORDER BY (writer, id)
"""
COLUMNS = ["id", "writer", "quantity", "ts", "props", "org_id"]


def mixed_row(writer: str, i: int) -> list[Any]:
    """One row with exact values of every awkward type (the same function runs in the child process)."""
    return [
        i,
        writer,
        Decimal(f"{12345678901234567890 + i}.{i:09d}"),
        datetime(2026, 11, 24, 12, 0, i % 60, (i % 1000) * 1000, tzinfo=UTC),
        {"model": "gpt-4o", "i": str(i), "empty": ""},
        None if i % 2 else f"org-{i}",
    ]


def _naive_utc(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as comparable lists: DateTime64 values as naive UTC whichever way the driver returns them."""
    out = []
    for row in rows:
        vals = list(row)
        ts = vals[3]
        vals[3] = ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts
        out.append(vals)
    return out


def _port() -> int:
    while True:
        port = free_port()
        if port not in RESERVED_PORTS:
            return port


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Warehouse]:
    wh = Warehouse(data_dir=tmp_path, chdb_path=tmp_path / "clickhouse", port=_port())
    wh.start(timeout=60)
    yield wh
    wh.stop()


def _client(wh: Warehouse) -> Any:
    client = connect_clickhouse(load_settings(data_dir=wh.data_dir, clickhouse_dsn=f"chdb://{wh.chdb_path}"))
    assert type(client).__name__ == "HttpClient", "connect() must go through the bridge, not open chDB"
    assert client.url.endswith(f":{wh.port}")
    return client


def _bridge_pid(wh: Warehouse) -> int:
    return int(json.loads(wh.info_file.read_text())["pid"])


CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from streams.settings import connect_clickhouse, load_settings
    from tests.integration.test_warehouse_bridge import COLUMNS, mixed_row

    chdb_path, data_dir, batches = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    client = connect_clickhouse(load_settings(data_dir=data_dir, clickhouse_dsn=f"chdb://{chdb_path}"))
    assert type(client).__name__ == "HttpClient", type(client)
    count = "SELECT count() FROM wb.mixed WHERE writer = 'parent'"
    parent_rows_at_start = client.query(count).result_rows[0][0]
    for b in range(batches):
        rows = [mixed_row("child", b * 100 + i) for i in range(100)]
        client.insert("wb.mixed", rows, column_names=COLUMNS)
    parent_rows_at_end = client.query(count).result_rows[0][0]
    print(json.dumps({"parent_at_start": parent_rows_at_start, "parent_at_end": parent_rows_at_end}))
    """
)


def test_two_processes_write_and_read_the_same_warehouse_at_once(bridge: Warehouse) -> None:
    parent = _client(bridge)
    parent.command("CREATE DATABASE IF NOT EXISTS wb")
    parent.command(MIXED_DDL)
    # One large insert first: a chunked, lz4-compressed Native body of several blocks.
    ids = list(range(100_000, 120_000))
    assert parent.insert("wb.mixed", [mixed_row("parent", i) for i in ids], column_names=COLUMNS).written_rows == 20_000
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(bridge.chdb_path), str(bridge.data_dir), "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        # The parent keeps writing for as long as the child runs (in-process chDB would refuse one of them).
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            batch = list(range(len(ids) - 20_000, len(ids) - 20_000 + 50))
            parent.insert("wb.mixed", [mixed_row("parent", i) for i in batch], column_names=COLUMNS)
            ids.extend(batch)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    seen_by_child = json.loads(out)
    assert seen_by_child["parent_at_end"] > seen_by_child["parent_at_start"] >= 20_000, "writes did not overlap"
    for writer, expected in (("parent", sorted(ids)), ("child", list(range(3000)))):
        got = parent.query(
            f"SELECT {', '.join(COLUMNS)} FROM wb.mixed WHERE writer = %(w)s ORDER BY id", parameters={"w": writer}
        ).result_rows
        assert _naive_utc(got) == _naive_utc([tuple(mixed_row(writer, i)) for i in expected])
    # Text formats straight from the engine, and a column-oriented read.
    csv = parent.raw_query("SELECT quantity, ts, org_id FROM wb.mixed WHERE writer = 'child' AND id = 1 FORMAT CSV")
    assert csv == b'12345678901234567891.000000001,"2026-11-24 12:00:01.001",\\N\n'
    cols = parent.query("SELECT id, props FROM wb.mixed WHERE writer = 'child' AND id < 2 ORDER BY id")
    assert cols.result_columns == [[0, 1], [{"model": "gpt-4o", "i": str(i), "empty": ""} for i in (0, 1)]]


def test_bad_sql_and_bad_rows_give_clear_errors(bridge: Warehouse) -> None:
    client = _client(bridge)
    with pytest.raises(DatabaseError) as syntax:
        client.query("SELEC 1")
    assert syntax.value.code == 62 and "SYNTAX_ERROR" in str(syntax.value)
    with pytest.raises(DatabaseError) as unknown:
        client.command("SELECT * FROM nowhere.nothing")
    assert unknown.value.code in (60, 81) and "nowhere" in str(unknown.value)
    client.command("CREATE TABLE default.t (a UInt8) ENGINE = MergeTree ORDER BY a")
    with pytest.raises(SinkRejected, match="CANNOT_PARSE"):
        RowSink(client, "default.t").write_now([b'{"a": "not a number"}'])
    with pytest.raises(SinkRejected, match="UNKNOWN_TABLE"):
        RowSink(client, "default.missing").write_now([b'{"a": 1}'])
    # A failed insert leaves nothing half-open: the same client goes on working.
    RowSink(client, "default.t").write_now([b'{"a": 7}'])
    assert client.query("SELECT a FROM default.t").result_rows == [(7,)]


async def test_migrations_and_the_row_sink_through_the_bridge(bridge: Warehouse) -> None:
    client = _client(bridge)
    assert [m.version for m in migrate(client, "mt", NOW)] == [m.version for m in load_migrations()]
    assert migrate(client, "mt", NOW) == []
    sink = RowSink(client, "mt.events", policy=RetryPolicy(initial=0.01, max_attempts=3))
    rows = [
        orjson.dumps(
            {
                "event_id": f"evt-{i}",
                "account_id": "org-1",
                "user_id": "u-1",
                "org_id": None if i % 2 else "org-1",
                "metric": "ai_requests",
                "quantity": "2.5",
                "ts_ms": 1795000000123 + i,
                "properties": {"provider": "openai", "model": "gpt-4o", "input_tokens": "120"},
                "source": "chat",
            }
        )
        for i in range(100)
    ]
    await sink.write(rows)
    await sink.write(rows[:50])  # a replay changes no deduplicated result
    count, total, tokens, nulls, first = client.query(
        "SELECT count(), sum(quantity), sum(input_tokens), countIf(org_id IS NULL), min(timestamp) "
        "FROM mt.events FINAL WHERE event_id LIKE 'evt-%'"
    ).result_rows[0]
    assert (count, str(total), tokens, nulls) == (100, "250.000000000", 12000, 50)
    assert first.replace(tzinfo=None) == datetime.fromtimestamp(1795000000, UTC).replace(
        microsecond=123000, tzinfo=None
    )


def test_settings_parameters_and_commands_behave_like_a_server(bridge: Warehouse) -> None:
    client = _client(bridge)
    assert client.ping()
    # Per-call settings apply to that call only; a SET statement does not outlive its request either.
    assert client.query("SELECT getSetting('max_threads')", settings={"max_threads": 3}).result_rows == [(3,)]
    default_threads = client.query("SELECT getSetting('max_threads')").result_rows[0][0]
    assert default_threads != 3
    client.command("SET max_threads = 3")
    assert client.query("SELECT getSetting('max_threads')").result_rows[0][0] == default_threads
    with pytest.raises(DatabaseError, match="UNKNOWN_SETTING"):
        client.query("SELECT 1", settings={"no_such_setting_here": 1})
    # Server-side binding, in the URL and (past 4 KiB of parameters) as a multipart form.
    assert client.query("SELECT {v:String}, {n:UInt32} + 1", parameters={"v": "hi", "n": 41}).result_rows == [
        ("hi", 42)
    ]
    assert client.query("SELECT length({b:String})", parameters={"b": "x" * 10_000}).result_rows == [(10_000,)]
    # Commands: a value, an empty result set, and DDL (a summary).
    assert client.command("SELECT 40 + 2") == 42
    assert client.command("SELECT 1 WHERE 0") == ""
    summary = client.command("CREATE TABLE default.kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k")
    assert not isinstance(summary, str | int)
    client.command("INSERT INTO default.kv FORMAT TabSeparated", data="a\t1\nb\t2\n")
    assert client.raw_insert("default.kv", ["k", "v"], insert_block="c,3\n", fmt="CSV").written_rows == 1
    client.command("INSERT INTO default.kv VALUES ('d', 4)")
    assert client.raw_query("SELECT k, v FROM default.kv ORDER BY k", fmt="JSONEachRow").splitlines() == [
        b'{"k":"a","v":1}',
        b'{"k":"b","v":2}',
        b'{"k":"c","v":3}',
        b'{"k":"d","v":4}',
    ]
    assert client.query("SELECT * FROM default.kv LIMIT 0").column_names == ("k", "v")
    assert client.query("SELECT k FROM default.kv WHERE v > 9").result_rows == []


def test_concurrent_clients_in_threads(bridge: Warehouse) -> None:
    _client(bridge).command("CREATE TABLE default.c (t UInt8, i UInt32) ENGINE = MergeTree ORDER BY (t, i)")

    def work(t: int) -> int:
        client = _client(bridge)
        for b in range(10):
            client.insert("default.c", [[t, b * 10 + i] for i in range(10)], column_names=["t", "i"])
        return int(client.query("SELECT count() FROM default.c WHERE t = %(t)s", parameters={"t": t}).result_rows[0][0])

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(8))) == [100] * 8


def test_kill9_fails_fast_and_a_restarted_bridge_sees_the_data(bridge: Warehouse) -> None:
    client = _client(bridge)
    client.command("CREATE TABLE default.k (a UInt32) ENGINE = MergeTree ORDER BY a")
    RowSink(client, "default.k").write_now([b'{"a": %d}' % i for i in range(10)])
    pid = _bridge_pid(bridge)
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # this test process spawned it: reap it, as init would a stack's bridge
    assert not bridge.status().running
    assert bridge_port_for(bridge.data_dir, bridge.chdb_path) is None  # a dead bridge is not advertised
    started = time.monotonic()
    with pytest.raises(OperationalError):
        client.query("SELECT count() FROM default.k")
    with pytest.raises(SinkUnavailable):
        RowSink(client, "default.k").write_now([b'{"a": 99}'])
    assert time.monotonic() - started < 5, "a dead bridge must fail fast, not hang"

    bridge.start(timeout=60)
    assert _bridge_pid(bridge) != pid
    assert client.query("SELECT count(), sum(a) FROM default.k").result_rows == [(10, 45)]


def test_stop_is_clean_and_a_second_owner_is_refused(bridge: Warehouse, tmp_path: Path) -> None:
    second_owner = ["--path", str(bridge.chdb_path), "--port", "0"]
    status = bridge.status()
    assert status.running and status.address == f"http://127.0.0.1:{bridge.port}" and "chDB" in status.detail
    res = subprocess.run(
        [sys.executable, "-m", "deploy.local.warehouse", "--data-dir", str(tmp_path / "other"), *second_owner],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "cannot open chDB" in res.stderr and "lock" in res.stderr.lower()
    assert bridge.stop() is True
    assert not (bridge.data_dir / WAREHOUSE_INFO).exists()
    assert not bridge.status().running
    assert bridge.stop() is False


def test_the_stack_runs_the_warehouse_for_a_chdb_dsn(tmp_path: Path) -> None:
    names = [c.name for c in stack.components(load_settings(data_dir=tmp_path))]
    assert names[2] == "warehouse" and names.index("warehouse") > names.index("kafka")
    server = load_settings(data_dir=tmp_path, clickhouse_dsn="http://127.0.0.1:1")
    assert "warehouse" not in [c.name for c in stack.components(server)]
    res = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "stack", "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "METERLINE_DATA_DIR": str(tmp_path), "METERLINE_LOCAL_WAREHOUSE_PORT": "18123"},
    )
    comps = {c["name"]: c for c in json.loads(res.stdout)["components"]}
    assert comps["warehouse"]["running"] is False
    assert comps["warehouse"]["address"] == "http://127.0.0.1:18123"
