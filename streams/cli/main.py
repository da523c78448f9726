"""Entry point of the ``meterline`` console script.

Each command group lives in its own module exposing ``register(subparsers)``; this module only
collects them, so adding a command never means editing a god module.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from rating.errors import RatingError
from schemas.errors import SchemaError
from sinks.errors import SinkError
from streams.errors import MeterlineError

# Command-group modules, each with ``register(subparsers) -> None``. Kept as names so a missing
# optional group fails loudly in tests rather than silently at import time.
COMMAND_MODULES: tuple[str, ...] = (
    "streams.cli.stack_cmd",
    "streams.cli.db_cmd",
    "streams.cli.worker_cmd",
    "streams.cli.ingest_cmd",
    "streams.cli.schema_cmd",
    "streams.cli.demo_cmd",
    "streams.cli.simulate_cmd",
    "streams.cli.subscriptions_cmd",
    "streams.cli.contracts_cmd",
    "streams.cli.quota_cmd",
    "streams.cli.stripe_cmd",
    "streams.cli.settle_cmd",
    "streams.cli.invoice_cmd",
    "streams.cli.reconcile_cmd",
    "streams.cli.api_cmd",
    "streams.cli.forecast_cmd",
    "streams.cli.audit_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterline",
        description="Meterline: usage metering, rating and billing on Kafka, ClickHouse and Stripe.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level (default WARNING)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = args.func(args)
    except (MeterlineError, SinkError, SchemaError, RatingError) as exc:
        print(f"meterline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
