"""``meterline stripe sync-catalog``: the catalog's products, prices and Billing Meters in Stripe."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.errors import MeterlineError
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "stripe", help="Stripe billing objects", description="The Stripe side of billing."
    )
    ssub = p.add_subparsers(dest="stripe_command", metavar="ACTION", required=True)
    sync = ssub.add_parser(
        "sync-catalog",
        help="create or update the Stripe products, prices and Billing Meters the catalog needs",
        description="Create or update, idempotently, what Stripe needs to bill the catalog in effect: a product "
        "per paid tier, the base prices (monthly and annual), and a Billing Meter with its metered price for "
        "API-call overage, storage overage (in milli-GB-months) and each premium feature. Objects are found "
        "again by lookup key (prices), metadata[meterline_key] (products) and event name (meters), so running "
        "it again changes nothing; a price whose amount changed is replaced by a new one that takes over its "
        "lookup key. Talks to the Stripe API at METERLINE_STRIPE_API_BASE (default the local stripe-mock).",
    )
    sync.add_argument(
        "--at",
        type=datetime.fromisoformat,
        help="sync the catalog version in effect at this RFC 3339 time (default: now)",
    )
    sync.add_argument("--dry-run", action="store_true", help="read Stripe and report what would change; write nothing")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    sync.set_defaults(func=_sync_catalog)


def _sync_catalog(args: argparse.Namespace) -> int:
    from rating.catalog.loader import load_catalog
    from sinks.stripe.catalog import sync_catalog
    from sinks.stripe.client import stripe_client

    settings = load_settings()
    at = args.at or datetime.now(UTC)
    if at.tzinfo is None:
        raise MeterlineError("--at needs a UTC offset, e.g. 2026-11-01T00:00:00Z")
    version = load_catalog(settings.catalog_path).at(at)
    client = stripe_client(settings.stripe_api_key.get_secret_value(), settings.resolved_stripe_api_base)
    report = sync_catalog(client, version, dry_run=args.dry_run)
    if args.json:
        emit_json(report.to_document())
        return 0
    emit_table(
        ["kind", "key", "outcome", "stripe_id", "changes"],
        [[a.kind, a.key, a.outcome, a.stripe_id, ", ".join(a.changes) or "-"] for a in report.actions],
    )
    counts = report.counts()
    summary = "; ".join(f"{kind}s " + ", ".join(f"{n} {o}" for o, n in c.items()) for kind, c in counts.items())
    print(f"\ncatalog {report.catalog_version}{' (dry run, nothing written)' if report.dry_run else ''}: {summary}")
    return 0
