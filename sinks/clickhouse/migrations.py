"""Versioned, idempotent ClickHouse migrations: the DDL files in ``schemas/ddl``, applied in order.

Every statement is written to be safe to run again (``IF NOT EXISTS``), and applied versions are
recorded in ``schema_migrations``, so ``meterline db migrate`` can run on every start. A step that is
not idempotent by itself (a table rebuild: copy, swap, drop) carries a guard, a comment line
``-- only if: <SELECT of one value>`` among the comments that open it: the statement runs only when
that value is non-zero, so a migration stopped half-way completes when run again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

from sinks.clickhouse.timefmt import ch_datetime
from sinks.errors import SinkRejected

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GUARD = re.compile(r"^--\s*only if:\s*(.+)$")


class CommandClient(Protocol):
    def command(self, cmd: str, **kwargs: Any) -> Any: ...

    def query(self, query: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, database: str) -> list[str]:
        text = self.sql.replace("{db}", database)
        # Statements end with ';' at the end of a line; comments are kept (ClickHouse accepts them).
        parts = re.split(r";\s*(?:\n|$)", text)
        return [p.strip() for p in parts if _has_sql(p)]


def _has_sql(part: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in part.splitlines())


def guard(statement: str) -> str | None:
    """The ``-- only if:`` query among the comments opening ``statement``, if any."""
    for line in statement.splitlines():
        text = line.strip()
        if text and not text.startswith("--"):
            return None
        m = _GUARD.match(text)
        if m:
            return m.group(1).strip()
    return None


def _holds(client: CommandClient, query: str) -> bool:
    rows = client.query(query).result_rows
    return bool(rows) and bool(rows[0][0])


def load_migrations() -> list[Migration]:
    """All migrations shipped in ``schemas/ddl``, ordered by version."""
    found: list[Migration] = []
    for entry in resources.files("schemas.ddl").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mg: mg.version)
    versions = [mg.version for mg in found]
    if len(set(versions)) != len(versions):
        raise SinkRejected(f"duplicate migration versions in schemas/ddl: {versions}")
    return found


def check_database(database: str) -> str:
    """``database`` if it is a plain identifier (it is written into SQL as is); else ``SinkRejected``."""
    if not _IDENT.match(database):
        raise SinkRejected(f"invalid ClickHouse database name {database!r}")
    return database


def migrate(client: CommandClient, database: str, now: datetime) -> list[Migration]:
    """Create the database and apply every migration not yet recorded; returns those applied now."""
    check_database(database)
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {int(r[0]) for r in client.query(f"SELECT version FROM {database}.schema_migrations").result_rows}
    applied: list[Migration] = []
    for mg in load_migrations():
        if mg.version in done:
            continue
        for stmt in mg.statements(database):
            cond = guard(stmt)
            if cond is None or _holds(client, cond):
                client.command(stmt)
        client.command(
            f"INSERT INTO {database}.schema_migrations (version, name, applied_at) VALUES "
            f"({mg.version}, '{mg.name}', toDateTime64('{ch_datetime(now)}', 3, 'UTC'))"
        )
        applied.append(mg)
    return applied
