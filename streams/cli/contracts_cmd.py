"""``meterline contracts get/put``: an enterprise contract of a subscription of the billing store (its
add-ons and credit grants: ``streams/cli/addons_cmd.py``).

The same store path as ``PUT /api/billing/subscriptions/{id}/contract`` (``subscription_store.set_contract``):
the row keeps the contract, the versions carrying it go out through the outbox (the API's relay publishes
them), and later changes of the subscription keep it (docs/rating.md). Operator only: run on a host that
holds the billing store's credentials (docs/security.md, "Platform operators")."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.cli.addons_cmd import register_actions
from streams.cli.output import emit_json
from streams.errors import MeterlineError
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "contracts",
        help="enterprise contracts of subscriptions (operator)",
        description="Enterprise contracts (ContractOverrides, docs/rating.md) of subscriptions of the billing store.",
    )
    csub = p.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    get = csub.add_parser("get", help="print a subscription's contract as JSON (null: none)")
    get.add_argument("--subscription", required=True, help="the Meterline subscription id (msub_...)")
    get.set_defaults(func=_get)
    put = csub.add_parser(
        "put",
        help="set (or clear) a subscription's contract from now on",
        description="Store the contract on the subscription and write a version carrying it, effective now (or at "
        "--effective-from); "
        "usage before keeps the version it was rated under. The API's outbox relay publishes it.",
    )
    put.add_argument("--subscription", required=True, help="the Meterline subscription id (msub_...)")
    put.add_argument(
        "--effective-from",
        type=_aware,
        help="RFC 3339 with offset, now or later (default: now); replaces a change scheduled before",
    )
    what = put.add_mutually_exclusive_group(required=True)
    what.add_argument("--file", type=Path, help="JSON file of contract overrides")
    what.add_argument("--clear", action="store_true", help="remove the contract (back to the catalog's tier)")
    put.set_defaults(func=_put)
    register_actions(csub, _aware)


def _aware(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a UTC offset, e.g. 2026-12-01T00:00:00Z")
    return t


def _get(args: argparse.Namespace) -> int:
    from streams.cli.api_cmd import _engine
    from streams.store import subscription_store as store
    from streams.store.db import sessions

    with sessions(_engine(load_settings()))() as s:
        row = store.get(s, args.subscription)
        if row is None:
            raise MeterlineError(f"no subscription {args.subscription}")
        emit_json(row.contract)
    return 0


def _put(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from rating.catalog.loader import load_catalog
    from rating.catalog.model import ContractOverrides
    from streams.cli.api_cmd import _engine
    from streams.store import subscription_store as store
    from streams.store.db import sessions

    settings = load_settings()
    now = datetime.now(UTC)
    contract = None
    if args.file is not None:
        try:
            contract = ContractOverrides.model_validate(orjson.loads(args.file.read_bytes()))
        except (ValidationError, OSError, orjson.JSONDecodeError) as exc:
            raise MeterlineError(f"invalid contract: {exc}") from exc
        unknown = store.unknown_to_catalog(contract, load_catalog(settings.catalog_path).at(now))
        if unknown:
            raise MeterlineError(f"contract: unknown to the catalog: {', '.join(unknown)}")
    with sessions(_engine(settings)).begin() as s:
        row = store.get(s, args.subscription, for_update=True)
        if row is None:
            raise MeterlineError(f"no subscription {args.subscription}")
        if args.effective_from is not None and args.effective_from < now:
            raise MeterlineError("--effective-from: in the past (rated usage keeps its version)")
        written = store.set_contract(s, row, contract, now, args.effective_from)
    emit_json({"subscription_id": args.subscription, "versions": [v.model_dump(mode="json") for v in written]})
    return 0
