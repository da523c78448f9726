"""``meterline contracts addon-add/addon-end/addon-hours/addons/credit-grant/credits``: add-ons and credit
grants of a subscription, through the same store functions as the API (``streams.store.addons``,
``streams.store.credits``; docs/rating.md "Add-ons", "Commitments and credits"). Operator only: run on a
host that holds the billing store's credentials (docs/security.md, "Platform operators")."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from streams.cli.output import emit_json
from streams.errors import MeterlineError
from streams.settings import load_settings

BY = "operator:cli"


def register_actions(csub: Any, aware: Callable[[str], datetime]) -> None:
    add = csub.add_parser("addon-add", help="record an add-on (one-time, recurring or hourly) on a subscription")
    add.add_argument("--subscription", required=True, help="the Meterline subscription id (msub_...)")
    add.add_argument("--name", required=True, help="an add-on of the catalog, e.g. advanced_analytics")
    add.add_argument("--quantity", type=_decimal, default=Decimal(1), help="units of a one-time add-on (default 1)")
    add.add_argument("--starts-at", type=aware, help="billing date or start, RFC 3339 with offset (default: now)")
    add.add_argument("--ends-at", type=aware, help="a recurring add-on's end (default: until ended)")
    add.add_argument("--note", help="free text kept with the record")
    add.set_defaults(func=_add)
    end = csub.add_parser("addon-end", help="end a recurring add-on")
    end.add_argument("--subscription", required=True)
    end.add_argument("--addon", required=True, help="the add-on id (add_...)")
    end.add_argument("--at", type=aware, required=True, help="when it stops, RFC 3339 with offset")
    end.set_defaults(func=_end)
    hours = csub.add_parser("addon-hours", help="log hours worked on an hourly add-on")
    hours.add_argument("--subscription", required=True)
    hours.add_argument("--addon", required=True, help="the add-on id (add_...)")
    hours.add_argument("--on", required=True, type=lambda t: datetime.fromisoformat(t).date(), help="YYYY-MM-DD")
    hours.add_argument("--hours", required=True, type=_decimal, help="a decimal such as 1.5")
    hours.add_argument("--note", required=True)
    hours.set_defaults(func=_hours)
    lst = csub.add_parser("addons", help="list a subscription's add-ons as JSON")
    lst.add_argument("--subscription", required=True)
    lst.set_defaults(func=_list)
    grant = csub.add_parser("credit-grant", help="grant prepaid credit on a subscription")
    grant.add_argument("--subscription", required=True)
    grant.add_argument("--name", required=True, help="shown on the invoice's credit line")
    grant.add_argument("--amount", required=True, type=_decimal, help="dollars, whole cents, e.g. 2500.00")
    grant.add_argument("--effective-at", type=aware, help="from when it pays invoices (default: now)")
    grant.add_argument("--expires-at", type=aware, help="after which it pays nothing (default: never)")
    grant.add_argument("--priority", type=int, default=0, help="lower is drawn first (default 0)")
    grant.set_defaults(func=_grant)
    credits = csub.add_parser("credits", help="list a subscription's credit grants as JSON (amounts granted)")
    credits.add_argument("--subscription", required=True)
    credits.set_defaults(func=_credits)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"not a decimal: {text!r}") from exc


@contextmanager
def _subscription(subscription_id: str, *, write: bool) -> Iterator[tuple[Session, Any, Any, datetime]]:
    """The store session, the subscription row, the catalog in effect and the start of the account's
    current period (what the API's rules take), refusals as a MeterlineError with their reason."""
    from rating.catalog.loader import load_catalog
    from streams.api.common import account_terms
    from streams.cli.api_cmd import _engine
    from streams.store import subscription_store as store
    from streams.store.db import sessions

    settings = load_settings()
    now = datetime.now(UTC)
    catalog = load_catalog(settings.catalog_path).at(now)
    make = sessions(_engine(settings))
    with make.begin() if write else make() as s:
        row = store.get(s, subscription_id, for_update=write)
        if row is None:
            raise MeterlineError(f"no subscription {subscription_id}")
        try:
            yield s, row, catalog, account_terms(s, catalog, row.account_id, now).period(now).start
        except ValueError as exc:
            raise MeterlineError(str(exc)) from exc


def _addon_row(s: Session, sub: Any, addon_id: str) -> Any:
    from streams.store import addons

    row = addons.get(s, addon_id)
    if row is None or row.subscription_id != sub.id:
        raise MeterlineError(f"no add-on {addon_id} on {sub.id}")
    return row


def _add(args: argparse.Namespace) -> int:
    from streams.store import addons

    with _subscription(args.subscription, write=True) as (s, sub, catalog, start):
        row = addons.record(
            s,
            sub,
            catalog,
            args.name,
            quantity=args.quantity,
            starts_at=args.starts_at or datetime.now(UTC),
            ends_at=args.ends_at,
            note=args.note,
            by=BY,
            now=datetime.now(UTC),
            not_before=start,
        )
        emit_json({"id": row.id, "name": row.name, "kind": row.kind})
    return 0


def _end(args: argparse.Namespace) -> int:
    from streams.store import addons

    with _subscription(args.subscription, write=True) as (s, sub, _, start):
        addons.end(s, _addon_row(s, sub, args.addon), args.at, start)
    emit_json({"id": args.addon, "ends_at": args.at.isoformat()})
    return 0


def _hours(args: argparse.Namespace) -> int:
    from streams.store import addons

    with _subscription(args.subscription, write=True) as (s, sub, _, start):
        row = _addon_row(s, sub, args.addon)
        worked = datetime.combine(args.on, time(0), tzinfo=UTC)
        addons.log_hours(s, row, worked, args.hours, args.note, by=BY, now=datetime.now(UTC), not_before=start)
    emit_json({"id": args.addon, "worked_on": args.on.isoformat(), "hours": str(args.hours)})
    return 0


def _list(args: argparse.Namespace) -> int:
    from streams.store import addons

    with _subscription(args.subscription, write=False) as (s, sub, _, _start):
        rows = addons.of_subscription(s, sub.id)
        hours = addons.hours_of(s, [r.id for r in rows])
        emit_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "kind": r.kind,
                    "quantity": r.quantity,
                    "starts_at": r.starts_at.isoformat(),
                    "ends_at": r.ends_at.isoformat() if r.ends_at else None,
                    "hours": [{"worked_on": h.worked_at.date().isoformat(), "hours": h.hours} for h in hours[r.id]],
                }
                for r in rows
            ]
        )
    return 0


def _grant(args: argparse.Namespace) -> int:
    from streams.store import credits

    now = datetime.now(UTC)
    with _subscription(args.subscription, write=True) as (s, sub, _, _start):
        row = credits.grant(
            s,
            sub,
            args.name,
            args.amount,
            effective_at=args.effective_at or now,
            expires_at=args.expires_at,
            priority=args.priority,
            by=BY,
            now=now,
        )
        emit_json({"id": row.id, "name": row.name, "amount": str(args.amount)})
    return 0


def _credits(args: argparse.Namespace) -> int:
    from streams.store import credits

    with _subscription(args.subscription, write=False) as (s, sub, _, _start):
        emit_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "amount": f"{Decimal(r.amount) / 100:.2f}",
                    "effective_at": r.effective_at.isoformat(),
                    "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                    "priority": r.priority,
                }
                for r in credits.of_subscription(s, sub.id)
            ]
        )
    return 0
