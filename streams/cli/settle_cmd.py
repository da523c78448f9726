"""``meterline settle``: settlement on demand (``meterline invoice`` is in ``invoice_cmd``).

It reads the subscription histories from ``billing.subscriptions`` and settled data from ClickHouse.
With embedded chDB only one process may open the data directory: run it while no worker holds it,
or through the local warehouse bridge (``meterline stack up``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from streams.cli.output import emit_json, emit_table


def _timestamp(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from exc
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a timezone (e.g. {text}Z): {text!r}")
    return at.astimezone(UTC)


def period_key(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"a period is YYYY-MM, not {text!r}")
    return text


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "settle",
        help="settle closed hourly windows and finalize due invoices",
        description="Recompute every hourly window that ended at or before --until from the deduplicated "
        "events in ClickHouse into usage_hourly, rate it into settled rated_usage lines, carry late usage of "
        "finalized periods as corrections, and finalize the invoices of periods that ended more than the "
        "grace period (METERLINE_SETTLE_GRACE_HOURS) before --until. Idempotent: settling twice changes "
        "nothing. Then the touched and the budgeted accounts not forecast yet today get their period-end "
        "forecasts written to ClickHouse forecasts and their budget alerts sent (docs/forecasting.md). The "
        "worker does the same on its own as windows close.",
    )
    p.add_argument(
        "--until",
        type=_timestamp,
        help="RFC 3339 time; default now minus the lateness allowance (METERLINE_SETTLE_LATENESS_SECONDS); "
        "a time before the last run's is taken as that run's (its hours are closed already)",
    )
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    p.set_defaults(func=_settle)


def open_settler() -> Any:
    """Settings, the subscription registry read from Kafka, and a settler on the configured ClickHouse."""
    settings, registry, settler, _ = open_settlement()
    return settings, registry, settler


def open_settlement() -> Any:
    """``open_settler``'s and the settler's ClickHouse client (chDB: one client per process and directory)."""
    from rating.catalog.loader import load_catalog
    from sinks.clickhouse.migrations import migrate
    from streams.settings import connect_clickhouse, load_settings
    from streams.settlement.job import build_settler
    from streams.subscriptions.registry import load_registry
    from streams.topics import SUBSCRIPTIONS

    settings = load_settings()
    registry = asyncio.run(load_registry(settings.kafka_bootstrap, settings.topic(SUBSCRIPTIONS)))
    client = connect_clickhouse(settings)
    migrate(client, settings.clickhouse_database, datetime.now(UTC))
    return settings, registry, build_settler(settings, client, load_catalog(settings.catalog_path), registry), client


def _settle(args: argparse.Namespace) -> int:
    from streams.settlement.job import build_forecast_refresh, default_until

    settings, registry, settler, client = open_settlement()
    now = datetime.now(UTC)
    result = settler.settle(args.until or default_until(settings, now), now)
    after = build_forecast_refresh(settings, client, settler, registry)
    summary = result.summary() | after.run(result.accounts, result.until, now, daily=True).summary()
    if args.json:
        emit_json(summary)
    else:
        emit_table(list(summary), [list(summary.values())])
    return 0
