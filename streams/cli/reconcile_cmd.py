"""``meterline reconcile --period YYYY-MM``: settled vs reported vs Stripe, per account and meter."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.cli.settle_cmd import period_key


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "reconcile",
        help="compare settled, reported and Stripe-summarised usage of a period",
        description="For every metered account (tiers collected automatically, with a Stripe customer) and "
        "meter: the billable units settlement computed for the usage period named YYYY-MM, the units "
        "acknowledged by Stripe according to stripe_reports, and the total of Stripe's meter event "
        "summaries. Exits 1 if any of the three differ.",
    )
    p.add_argument("--period", required=True, type=period_key, help="YYYY-MM, the month the period starts in")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    from rating.catalog.loader import load_catalog
    from sinks.clickhouse.settlement import SettlementStore
    from sinks.stripe.meter_summaries import StripeMeterSummaries
    from streams.settings import connect_clickhouse, load_settings
    from streams.settlement.job import stripe_client
    from streams.settlement.reconcile import reconcile
    from streams.subscriptions.registry import load_registry
    from streams.topics import SUBSCRIPTIONS

    settings = load_settings()
    registry = asyncio.run(load_registry(settings.kafka_bootstrap, settings.topic(SUBSCRIPTIONS)))
    store = SettlementStore(connect_clickhouse(settings), settings.clickhouse_database)
    rows = reconcile(
        store,
        StripeMeterSummaries(stripe_client(settings)),
        load_catalog(settings.catalog_path),
        registry.history,
        registry.accounts(),
        args.period,
    )
    clean = all(r.ok for r in rows)
    if args.json:
        emit_json({"period": args.period, "clean": clean, "rows": [r.to_document() for r in rows]})
    else:
        cols = ["account_id", "meter", "settled", "reported", "stripe", "ok"]
        emit_table(cols, [[r.to_document()[c] for c in cols] for r in rows])
        print(f"\n{args.period}: {len(rows)} account meters, " + ("clean" if clean else "MISMATCH"))
    return 0 if clean else 1
