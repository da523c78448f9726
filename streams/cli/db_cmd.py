"""``meterline db migrate``: create or upgrade the ClickHouse tables (idempotent)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from streams.cli.output import emit_json
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("db", help="ClickHouse schema", description="ClickHouse schema.")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    m = dbsub.add_parser(
        "migrate",
        help="apply the ClickHouse migrations not yet applied",
        description="Create the database and apply every migration in schemas/ddl not yet recorded "
        "in schema_migrations. Safe to run on every start.",
    )
    m.add_argument("--json", action="store_true", help="print the result as JSON")
    m.set_defaults(func=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    from sinks.clickhouse.migrations import migrate
    from streams.settings import connect_clickhouse

    settings = load_settings()
    applied = migrate(connect_clickhouse(settings), settings.clickhouse_database, datetime.now(UTC))
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    if args.json:
        emit_json({"database": settings.clickhouse_database, "applied": names})
    else:
        print(f"{settings.clickhouse_database}: " + (", ".join(names) if names else "up to date"))
    return 0
