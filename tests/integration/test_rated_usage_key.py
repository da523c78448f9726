"""ClickHouse migration 0012 (issue 19, defect 3) on chDB: ``rated_usage`` rebuilt with the
subscription version in its sorting key, from a table created by the earlier migrations; rows kept,
safe to run again, and settled lines of one hour under two versions no longer replace each other
(docs/analytics.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from sinks.clickhouse import migrations
from sinks.clickhouse.migrations import migrate

pytestmark = pytest.mark.integration
DB = "mig"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def line(metric: str, hour: str, sub_version: int, quantity: str, rated_at: str, kind: str = "settled") -> bytes:
    return orjson.dumps(
        {
            "account_id": "acc",
            "period": "2026-09",
            "period_start": "2026-09-01 00:00:00",
            "metric": metric,
            "dimension": "",
            "hour": hour,
            "kind": kind,
            "line_id": "" if kind == "settled" else f"0:{quantity}:0",
            "tier": "standard",
            "quantity": quantity,
            "period_to_date": quantity,
            "included": "0",
            "billable": "0",
            "unit_price": "0",
            "amount": "0",
            "catalog_version": "2026-01",
            "sub_version": sub_version,
            "rated_at": rated_at,
        }
    )


def test_rated_usage_is_rebuilt_with_the_version_in_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client: Any = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")

    def insert(*rows: bytes) -> None:
        client.raw_insert(f"{DB}.rated_usage", None, insert_block=b"\n".join(rows) + b"\n", fmt="JSONEachRow")

    def final() -> list[tuple[Any, ...]]:
        sql = (
            f"SELECT metric, toString(hour), kind, sub_version, toString(quantity) FROM {DB}.rated_usage FINAL "
            "ORDER BY metric, hour, kind, sub_version, quantity"
        )
        return [tuple(r) for r in client.query(sql).result_rows]

    everything = migrations.load_migrations()
    monkeypatch.setattr(migrations, "load_migrations", lambda: [m for m in everything if m.version < 12])
    migrate(client, DB, NOW)
    h = "2026-09-10 12:00:00"
    insert(
        line("api_calls", "2026-09-03 08:00:00", 1, "40", "2026-09-04 00:00:00.000"),
        line("api_calls", "2026-09-03 08:00:00", 1, "50", "2026-09-05 00:00:00.000"),  # re-settled: replaces
        line("api_calls", h, 1, "9000", "2026-09-11 00:00:00.000"),
        line("api_calls", h, 2, "100500", "2026-09-11 00:00:00.000"),  # the old key keeps one of these two
        line("active_user", "2026-09-03 08:00:00", 1, "3", "2026-09-04 00:00:00.000"),  # old hourly seat line
        line("api_calls", h, 1, "7", "2026-09-10 12:01:00.000", kind="provisional"),
    )
    before = final()
    assert len(before) == 4 and ("active_user", "2026-09-03 08:00:00", "settled", 1, "3") in before

    monkeypatch.setattr(migrations, "load_migrations", lambda: [m for m in everything if m.version <= 12])
    assert [m.version for m in migrate(client, DB, NOW)] == [12]
    key = client.query(f"SELECT sorting_key FROM system.tables WHERE database = '{DB}' AND name = 'rated_usage'")
    assert key.result_rows[0][0] == "account_id, period_start, metric, dimension, kind, hour, sub_version, line_id"
    copied = final()
    # Every collapsed row carried over, but the hourly seat line of the old meaning.
    assert copied == [r for r in before if r[0] != "active_user"]

    # Run again (a crash before the migration was recorded): the same rows.
    (m12,) = [m for m in everything if m.version == 12]
    for stmt in m12.statements(DB):
        client.command(stmt)
    assert final() == copied

    # Now both versions of the upgrade hour stay, and a re-settled line still replaces its own.
    insert(
        line("api_calls", h, 1, "9000", "2026-10-01 00:00:00.000"),
        line("api_calls", h, 2, "100500", "2026-10-01 00:00:00.000"),
        line("api_calls", h, 2, "100510", "2026-10-02 00:00:00.000"),
    )
    upgrade_hour = [(v, q) for m, hr, k, v, q in final() if hr == h and k == "settled"]
    assert upgrade_hour == [(1, "9000"), (2, "100510")]
    client.close()
