"""``meterline quota show``: the live quota state of an account, from ``billing.quota-state``."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson

from streams.cli.output import emit_json, emit_table
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("quota", help="live quota state", description="Live quota state.")
    qsub = p.add_subparsers(dest="quota_command", metavar="ACTION", required=True)
    show = qsub.add_parser(
        "show",
        help="show an account's quota per metric (used, included, remaining, caps)",
        description="The latest quota state per metric of one account, as published by the live rating stage "
        "on the compacted topic billing.quota-state (what gateways read to enforce caps).",
    )
    show.add_argument("--account", required=True)
    show.add_argument("--json", action="store_true", help="print as JSON")
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    from streams.kafka.compacted import read_to_end
    from streams.topics import QUOTA_STATE

    settings = load_settings()
    records = asyncio.run(read_to_end(settings.kafka_bootstrap, settings.topic(QUOTA_STATE)))
    latest: dict[str, dict[str, Any]] = {}
    prefix = f"{args.account}:".encode()
    for r in records:
        if r.key and r.key.startswith(prefix) and r.value:
            latest[r.key.decode()] = orjson.loads(r.value)
    states = sorted(latest.values(), key=lambda q: q["metric"])
    if args.json:
        emit_json({"account_id": args.account, "quotas": states})
    else:
        cols = [
            "metric",
            "period",
            "used",
            "included",
            "remaining",
            "hard_cap",
            "over_limit",
            "hard_capped",
            "entitled",
        ]
        emit_table(cols, [[q.get(c) if q.get(c) is not None else "-" for c in cols] for q in states])
    return 0
