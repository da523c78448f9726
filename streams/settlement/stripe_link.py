"""Operator-only: link a subscription of the store to Stripe objects that already exist (a customer, and
optionally its subscription), after checking that Stripe says they are the subscription's account's.

Stripe ids are the platform's to set (issue 13): the billing API takes none from callers, the Stripe mirror
stores the ids of what it creates, and this path — run by an operator with the Stripe key, through
``meterline subscriptions link-stripe`` — links what was created elsewhere. Each object must carry
``metadata.account_id`` naming the subscription's account (what the mirror writes on what it creates); a
customer already another account's, or a Stripe subscription stored on another subscription, is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from sqlalchemy.orm import Session, sessionmaker

from sinks.stripe.subscriptions import ACCOUNT_METADATA
from streams.errors import MeterlineError
from streams.store import subscription_store as store


class StripeLinkRefused(MeterlineError):
    """The Stripe object is not the account's (or is linked elsewhere): nothing was linked."""


def check_owner(what: str, obj: dict[str, Any], account_id: str) -> None:
    """Refuse ``obj`` unless its ``metadata.account_id`` is ``account_id``."""
    meta = obj.get("metadata")
    named = meta.get(ACCOUNT_METADATA) if isinstance(meta, dict) else None
    if named != account_id:
        shown = "no account" if not named else repr(named)
        raise StripeLinkRefused(
            f"{what} {obj.get('id')}: its metadata.{ACCOUNT_METADATA} names {shown}, not {account_id}; "
            f"set it in Stripe first if this object really is {account_id}'s"
        )


def _customer_of(sub: dict[str, Any]) -> str | None:
    customer = sub.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return customer if isinstance(customer, str) else None


def _stripe(what: str, fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = fn().to_dict()
    except stripe.StripeError as exc:
        raise StripeLinkRefused(f"{what}: Stripe answered {exc.user_message or type(exc).__name__}") from exc
    return doc


def fetch_customer(client: stripe.StripeClient) -> Callable[[str], dict[str, Any]]:
    return lambda cid: _stripe(f"the Stripe customer {cid}", lambda: client.v1.customers.retrieve(cid))


def fetch_subscription(client: stripe.StripeClient) -> Callable[[str], dict[str, Any]]:
    return lambda sid: _stripe(f"the Stripe subscription {sid}", lambda: client.v1.subscriptions.retrieve(sid))


@dataclass(frozen=True, slots=True)
class Linked:
    subscription_id: str
    account_id: str
    stripe_customer_id: str
    stripe_subscription_id: str | None
    changed: bool


def link_existing(
    sessions: sessionmaker[Session],
    client: stripe.StripeClient,
    subscription_id: str,
    customer: str,
    stripe_subscription: str | None,
    now: datetime,
) -> Linked:
    """Check the Stripe objects' owner, then store their ids on the subscription (versions carry them)."""
    with sessions() as s:
        row = store.get(s, subscription_id)
        if row is None:
            raise StripeLinkRefused(f"no subscription {subscription_id}")
        account = row.account_id
    check_owner("the Stripe customer", fetch_customer(client)(customer), account)
    if stripe_subscription is not None:
        obj = fetch_subscription(client)(stripe_subscription)
        check_owner("the Stripe subscription", obj, account)
        if _customer_of(obj) != customer:
            raise StripeLinkRefused(f"the Stripe subscription {stripe_subscription} is not the customer {customer}'s")
    try:
        with sessions.begin() as s:
            row = store.get(s, subscription_id, for_update=True)
            if row is None:
                raise StripeLinkRefused(f"no subscription {subscription_id}")
            changed = store.link_stripe(s, row, customer, stripe_subscription, now)
            out = Linked(row.id, row.account_id, customer, row.stripe_subscription_id, changed)
    except store.StripeOwnerConflict as exc:
        raise StripeLinkRefused(str(exc)) from exc
    return out
