"""What every settlement table class shares: the client, the database, reads whose driver errors become
sink errors, JSONEachRow inserts in bounded parts, and accounts in bounded IN-lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from sinks.clickhouse.row_sink import classify
from sinks.clickhouse.timefmt import ch_literal
from sinks.errors import SinkRejected

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ms(ts_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ts_ms)


def in_list(values: Iterable[str]) -> str:
    return "(" + ",".join(ch_literal(v) for v in values) + ")"


def chunks(values: Iterable[str], size: int = 5000) -> list[list[str]]:
    """Accounts in IN-lists of a bounded size (one query per chunk)."""
    items = sorted(set(values))
    return [items[i : i + size] for i in range(0, len(items), size)]


class Tables:
    """The base of each table group: one ClickHouse client and database, shared by ``SettlementStore``."""

    def __init__(self, client: Any, database: str) -> None:
        self._c, self._db = client, database

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self._c.query(sql).result_rows]
        except Exception as exc:  # the driver's own errors, as retriable or final sink errors
            raise classify(exc) from exc

    def _insert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(rows), 100_000):
            part = rows[i : i + 100_000]
            body = b"\n".join(orjson.dumps(r) for r in part) + b"\n"
            try:
                self._c.raw_insert(f"{self._db}.{table}", None, insert_block=body, fmt="JSONEachRow")
            except Exception as exc:
                raise SinkRejected(f"cannot write {len(part)} rows to {self._db}.{table}: {exc}") from exc
