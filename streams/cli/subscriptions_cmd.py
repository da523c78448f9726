"""``meterline subscriptions put``: publish a subscription version to ``billing.subscriptions``;
``meterline subscriptions link-stripe``: link a stored subscription to Stripe objects that exist already.

Both take Stripe ids from the operator only after Stripe says the object is the account's
(``metadata.account_id``; ``streams.settlement.stripe_link``)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.cli.output import emit_json
from streams.errors import MeterlineError
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "subscriptions", help="publish subscriptions", description="Subscriptions on billing.subscriptions."
    )
    ssub = p.add_subparsers(dest="subscriptions_command", metavar="ACTION", required=True)
    put = ssub.add_parser(
        "put",
        help="publish a subscription version (a new tier, status or contract from a time on)",
        description="Publish one subscription version for an account. Usage from --effective-from on is rated "
        "under it; earlier usage keeps the version that was in effect (the record carries the history).",
    )
    put.add_argument("--account", required=True, help="account id (org or user)")
    put.add_argument("--kind", required=True, choices=["user", "org"])
    put.add_argument("--tier", required=True, help="a tier of the catalog: free, standard, enterprise")
    put.add_argument("--interval", default="month", choices=["month", "year"])
    put.add_argument("--status", default="active", choices=["trialing", "active", "past_due", "unpaid", "canceled"])
    put.add_argument("--anchor", type=date.fromisoformat, help="YYYY-MM-DD (default: today, UTC)")
    put.add_argument("--effective-from", type=datetime.fromisoformat, help="RFC 3339 with offset (default: now)")
    put.add_argument(
        "--stripe-customer",
        help="the account's Stripe customer id (cus_...), for metered billing; its metadata.account_id must "
        "name the account",
    )
    put.add_argument(
        "--contract",
        type=Path,
        help="JSON file of contract overrides (enterprise); a subscription of the billing store takes its "
        "contract with 'meterline contracts put', which later API changes keep",
    )
    put.add_argument("--json", action="store_true", help="print the published record as JSON")
    put.set_defaults(func=_put)

    link = ssub.add_parser(
        "link-stripe",
        help="link a subscription of the billing store to an existing Stripe customer (and subscription)",
        description="Operator only. Store Stripe ids on a subscription of the billing store, after checking "
        "that each Stripe object's metadata.account_id names the subscription's account; a customer of another "
        "account, or a Stripe subscription linked elsewhere, is refused. The Stripe mirror sets the ids of what "
        "it creates by itself: this is for objects made outside Meterline.",
    )
    link.add_argument("--subscription", required=True, help="the Meterline subscription id (msub_...)")
    link.add_argument("--customer", required=True, help="the Stripe customer id (cus_...)")
    link.add_argument("--stripe-subscription", help="the Stripe subscription id (sub_...), of that customer")
    link.add_argument("--json", action="store_true", help="print the linked ids as JSON")
    link.set_defaults(func=_link)


def _link(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from streams.cli.api_cmd import _engine
    from streams.settlement.job import stripe_client
    from streams.settlement.stripe_link import link_existing
    from streams.store.db import sessions

    settings = load_settings()
    linked = link_existing(
        sessions(_engine(settings)),
        stripe_client(settings),
        args.subscription,
        args.customer,
        args.stripe_subscription,
        datetime.now(UTC),
    )
    if args.json:
        emit_json(asdict(linked))
    else:
        print(
            f"{linked.subscription_id} ({linked.account_id}): customer {linked.stripe_customer_id}, "
            f"subscription {linked.stripe_subscription_id or '-'}{'' if linked.changed else ' (already linked)'}"
        )
    return 0


def _put(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from rating.catalog.loader import load_catalog
    from rating.catalog.model import ContractOverrides
    from rating.subscriptions import SubscriptionVersion
    from schemas.events import epoch_ms
    from streams.subscriptions.publish import publish_subscriptions

    settings = load_settings()
    now = datetime.now(UTC)
    effective = args.effective_from or now
    if effective.tzinfo is None:
        raise MeterlineError("--effective-from needs a UTC offset, e.g. 2026-11-16T00:00:00Z")
    catalog = load_catalog(settings.catalog_path).at(effective)
    if args.tier not in catalog.tiers:
        raise MeterlineError(f"unknown tier {args.tier!r}: the catalog has {', '.join(sorted(catalog.tiers))}")
    try:
        contract = ContractOverrides.model_validate(orjson.loads(args.contract.read_bytes())) if args.contract else None
        version = SubscriptionVersion(
            account_id=args.account,
            account_kind=args.kind,
            tier=args.tier,
            status=args.status,
            interval=args.interval,
            anchor=args.anchor or now.date(),
            effective_from=effective,
            version=epoch_ms(now),
            contract=contract,
            stripe_customer_id=args.stripe_customer,
        )
    except (ValidationError, OSError, orjson.JSONDecodeError) as exc:
        raise MeterlineError(f"invalid subscription: {exc}") from exc

    if args.stripe_customer:
        from streams.settlement.job import stripe_client
        from streams.settlement.stripe_link import check_owner, fetch_customer

        check_owner("the Stripe customer", fetch_customer(stripe_client(settings))(args.stripe_customer), args.account)
    [value] = asyncio.run(publish_subscriptions(settings, [version]))
    if args.json:
        emit_json(orjson.loads(value))
    else:
        print(f"{args.account}: {args.tier} ({args.interval}, {args.status}) from {effective.isoformat()}")
    return 0
