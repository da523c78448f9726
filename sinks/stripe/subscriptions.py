"""The Stripe side of a subscription: which prices it holds (pure), and the Customer and Subscription
calls that make Stripe say so (I/O, with idempotency keys).

``stripe_target(change, catalog)`` is pure: from one committed change of a Meterline subscription (its
terms now, what is scheduled, the reason) it works out what the Stripe Subscription must be. Prices are
the ones ``meterline stripe sync-catalog`` creates, found again by lookup key: the tier's base price for the
interval (``meterline_<tier>_base_<interval>``) and one metered price per billable usage
(``meterline_api_calls_overage``, ...), exactly as ``sinks.stripe.catalog_spec.desired_catalog`` defines them.

Only tiers that collect automatically get a Stripe Subscription. Invoiced tiers (``send_invoice``,
enterprise) are billed by ``streams.settlement.stripe_invoicing`` with one Stripe invoice per period: a subscription
holding their prices would bill them twice, so they get a Customer only (what the invoices go to).
A tier without Stripe prices (free) needs no subscription either.

How a change maps (issue #6):

- upgrade: the new prices at once, ``proration_behavior=create_prorations``;
- downgrade (scheduled for the period end): to a tier Stripe does not bill, ``cancel_at_period_end``;
  to another billed tier, the new prices now with ``proration_behavior=none``, so nothing is charged or
  credited now and the next renewal bills the new prices;
- cancel at period end: ``cancel_at_period_end=true``; reactivate: ``false``; cancel now: cancel;
- a trial: ``trial_end``; a new subscription otherwise starts its billing cycle at the end of the
  Meterline period (``billing_cycle_anchor``, prorated), so Stripe's period ends where ours does.

Idempotency: every write's key is derived from the account, the subscription, the change number (the
highest version the change wrote) and the parameters. A retry sends the same request with the same key,
so Stripe applies it once and a create returns the object made the first time; a different request
never reuses a key (Stripe refuses a key reused with other parameters). Keys last about 24 hours at
Stripe: the lasting guard is the caller storing the ids it gets back, and, before a subscription is
created, a look at the customer's subscriptions for one carrying this subscription's id in metadata.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import orjson
import stripe

from rating.catalog.model import CatalogVersion, ContractOverrides, Interval
from sinks.errors import SinkRejected, SinkUnavailable
from sinks.retry import RetryPolicy
from sinks.stripe.calls import with_retries
from sinks.stripe.catalog_spec import base_price_key, desired_catalog

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_POLICY = RetryPolicy(initial=0.2, maximum=4.0, max_attempts=4)
SUBSCRIPTION_METADATA = "meterline_subscription_id"
ACCOUNT_METADATA = "account_id"
Proration = Literal["create_prorations", "none"]


class StripeMirrorError(SinkRejected):
    """Stripe refused a write (4xx), or the subscription cannot be expressed with the catalog's Stripe
    prices: a retry alone will not fix it."""


class StripeMirrorUnavailable(SinkUnavailable):
    """Stripe could not be reached or kept answering 429/5xx: retry later."""


# --- what a change asks of Stripe (pure) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MirrorChange:
    """One committed change of a subscription: its plan carried out to ``at`` (the terms now and what is
    scheduled), and what the change was. The payload of a Stripe outbox row."""

    subscription_id: str
    account_id: str
    account_kind: str
    change_no: int  # the highest subscription version the change wrote
    reason: str  # create, upgrade, downgrade, change_undone, cancel_at_period_end, cancel_now, reactivate
    at: datetime
    tier: str
    interval: Interval
    status: str
    period_end: datetime  # end of the Meterline period containing ``at``
    trial_end: datetime | None = None
    cancel_at: datetime | None = None
    pending_tier: str | None = None
    pending_interval: Interval | None = None
    pending_at: datetime | None = None
    contract: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_payload(cls, doc: dict[str, Any]) -> MirrorChange:
        times = {"at", "period_end", "trial_end", "cancel_at", "pending_at"}
        values: dict[str, Any] = {
            k: (datetime.fromisoformat(v) if k in times and v else v) for k, v in doc.items() if k in cls.__slots__
        }
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StripeTarget:
    """What the Stripe Subscription must be after a change."""

    lookup_keys: tuple[str, ...]  # the prices it holds; empty: no Stripe subscription (cancel any)
    proration_behavior: Proration = "none"
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    #: where a *new* subscription starts billing: the Meterline period end (prorated up to it), or the
    #: instant a scheduled change takes effect (nothing charged before it)
    billing_cycle_anchor: datetime | None = None
    anchor_proration: Proration = "create_prorations"

    @property
    def subscribed(self) -> bool:
        return bool(self.lookup_keys)


def tier_lookup_keys(
    catalog: CatalogVersion, tier_name: str, interval: Interval, contract: dict[str, Any] | None = None
) -> tuple[str, ...]:
    """The lookup keys of the Stripe prices a Subscription on this tier holds (base price of the interval,
    then metered prices); empty when Stripe does not bill the tier by subscription. Raises
    ``StripeMirrorError`` for an unknown tier, or a contract whose prices differ from the catalog's (the
    catalog's Stripe prices would bill the wrong amounts: such a contract must be invoiced)."""
    tier = catalog.tiers.get(tier_name)
    if tier is None:
        raise StripeMirrorError(f"tier {tier_name!r} is not in catalog {catalog.version}")
    effective = ContractOverrides.model_validate(contract).apply(tier) if contract else tier
    if effective.payment_terms.collection != "charge_automatically":
        return ()
    held = {p.lookup_key: p for p in desired_catalog(catalog).prices}
    # The tier alone through sync-catalog's own rules: the same prices, the same lookup keys.
    alone = catalog.model_copy(update={"tiers": {tier_name: effective}, "default_tier": None})
    keys: list[str] = []
    for price in desired_catalog(alone).prices:
        if price.usage_type == "licensed" and price.lookup_key != base_price_key(tier_name, interval):
            continue  # the base price of the other interval
        synced = held.get(price.lookup_key)
        same = synced is not None and (synced.unit_amount_decimal, synced.currency) == (
            price.unit_amount_decimal,
            price.currency,
        )
        if synced is None or not same:
            have = "none" if synced is None else f"{synced.unit_amount_decimal} cents"
            raise StripeMirrorError(
                f"{price.lookup_key}: the contract prices it at {price.unit_amount_decimal} cents, the catalog's "
                f"Stripe price at {have}; bill such a contract by invoice (payment_terms send_invoice)"
            )
        keys.append(price.lookup_key)
    return tuple(keys)


def stripe_target(change: MirrorChange, catalog: CatalogVersion) -> StripeTarget:
    """What the Stripe Subscription must be after ``change`` (see the module's docstring)."""
    if change.status == "canceled":
        return StripeTarget(())
    now_keys = tier_lookup_keys(catalog, change.tier, change.interval, change.contract)
    keys = now_keys
    proration: Proration = "create_prorations" if change.reason == "upgrade" else "none"
    cancel_at_period_end = change.cancel_at is not None
    anchor: datetime | None = change.period_end if change.interval == "month" else None
    anchor_proration: Proration = "create_prorations"
    if change.pending_at is not None:
        pending = tier_lookup_keys(
            catalog, change.pending_tier or change.tier, change.pending_interval or change.interval, change.contract
        )
        if not pending:
            cancel_at_period_end = True  # the next terms are not billed by a subscription: it ends here
        else:
            # Billed from the next renewal on; a subscription made only now starts billing then.
            keys, proration = pending, "none"
            if not now_keys:
                anchor, anchor_proration = change.pending_at, "none"
    if not keys:
        return StripeTarget(())
    trial_end = change.trial_end if change.status == "trialing" else None
    if trial_end is not None:
        anchor = None  # a trial sets the billing cycle anchor to its end
    return StripeTarget(keys, proration, cancel_at_period_end, trial_end, anchor, anchor_proration)


# --- Stripe calls (I/O) ------------------------------------------------------------------------------


def idempotency_key(op: str, account_id: str, subscription_id: str, change_no: int, params: Any) -> str:
    """Same account, subscription, change and parameters: same key; anything else: another key."""
    material = orjson.dumps(
        [op, account_id, subscription_id, change_no, params], option=orjson.OPT_SORT_KEYS, default=str
    )
    return f"meterline-sub-{op}-{hashlib.sha256(material).hexdigest()[:40]}"


def _ts(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp())


@dataclass(frozen=True, slots=True)
class MirrorResult:
    customer_id: str
    subscription_id: str | None  # None: no Stripe subscription was ever made
    calls: tuple[str, ...]  # what was done, for the log: customer, create, update, cancel, unchanged


class StripeSubscriptions:
    """The Stripe calls of the mirror, each retried on 429/5xx/connection errors (same key each time)."""

    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        automatic_tax: bool = False,
    ) -> None:
        """``automatic_tax``: Stripe Tax computes the tax of the subscriptions' invoices (docs/invoices.md)."""
        self._client, self._policy, self._sleep = client, policy, sleep
        self._rng = rng or random.Random()
        self._automatic_tax = automatic_tax

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return with_retries(
            what,
            fn,
            self._policy,
            self._sleep,
            self._rng,
            refused=StripeMirrorError,
            unavailable=StripeMirrorUnavailable,
        )

    def ensure_customer(self, change: MirrorChange, known: str | None, organization_id: str | None) -> tuple[str, bool]:
        """The account's Customer: ``known`` if stored, else a new one (metadata ``account_id``); returns
        (id, created)."""
        if known:
            return known, False
        params: dict[str, Any] = {
            "description": f"Meterline {change.account_kind} account {change.account_id}",
            "metadata": {
                ACCOUNT_METADATA: change.account_id,
                "account_kind": change.account_kind,
                # A person's own subscription may belong to no organization: no key rather than an empty value.
                **({"organization_id": organization_id} if organization_id is not None else {}),
            },
        }
        key = idempotency_key("customer", change.account_id, change.subscription_id, change.change_no, params)
        customer = self._call(
            f"create the customer of {change.account_id}",
            lambda: self._client.v1.customers.create(params=params, options={"idempotency_key": key}),  # type: ignore[arg-type]
        )
        return str(customer.id), True

    def prices(self, lookup_keys: tuple[str, ...]) -> dict[str, str]:
        """Price ids by lookup key (active prices, as sync-catalog leaves them); a missing one is an error."""
        found: dict[str, str] = {}
        for i in range(0, len(lookup_keys), 10):  # Stripe takes up to 10 lookup keys per list call
            chunk = list(lookup_keys[i : i + 10])

            def fetch(chunk: list[str] = chunk) -> list[Any]:
                page = self._client.v1.prices.list(params={"lookup_keys": chunk, "active": True, "limit": 100})
                return list(page.data)

            for price in self._call("list prices", fetch):
                if price.lookup_key in chunk:
                    found[str(price.lookup_key)] = str(price.id)
        missing = [k for k in lookup_keys if k not in found]
        if missing:
            raise StripeMirrorError(
                f"no Stripe price with lookup key {', '.join(missing)}: run `meterline stripe sync-catalog`"
            )
        return found

    def _existing(self, change: MirrorChange, customer: str) -> str | None:
        """A live subscription of ``customer`` made for this Meterline subscription (a create whose answer
        was lost, older than the idempotency key's life)."""

        def fetch() -> list[dict[str, Any]]:
            page = self._client.v1.subscriptions.list(params={"customer": customer, "limit": 100})
            return [s.to_dict() for s in page.data]

        for sub in self._call(f"list the subscriptions of {customer}", fetch):
            meta = sub.get("metadata") or {}
            if meta.get(SUBSCRIPTION_METADATA) == change.subscription_id and sub.get("status") != "canceled":
                return str(sub["id"])
        return None

    def apply(
        self, change: MirrorChange, target: StripeTarget, customer: str, subscription: str | None, now: datetime
    ) -> MirrorResult:
        """Make the Stripe Subscription match ``target``; ``subscription`` is the stored id, if any."""
        if not target.subscribed:
            if subscription is None:
                return MirrorResult(customer, None, ("unchanged",))
            current = self._retrieve(subscription, change)
            if current.get("status") == "canceled":
                return MirrorResult(customer, subscription, ("unchanged",))
            self._cancel(change, subscription)
            return MirrorResult(customer, subscription, ("cancel",))
        prices = self.prices(target.lookup_keys)
        if subscription is not None:
            current = self._retrieve(subscription, change)
            if current.get("status") not in ("canceled", "incomplete_expired"):
                self._update(change, target, subscription, current, prices)
                return MirrorResult(customer, subscription, ("update",))
        found = self._existing(change, customer)
        if found is not None:
            self._update(change, target, found, self._retrieve(found), prices)
            return MirrorResult(customer, found, ("update",))
        return MirrorResult(customer, self._create(change, target, customer, prices, now), ("create",))

    def _retrieve(self, subscription: str, change: MirrorChange | None = None) -> dict[str, Any]:
        """The Stripe subscription; with ``change``, refused (``StripeMirrorError``) when its metadata names
        another account: the mirror never changes another tenant's Stripe subscription (issue 13)."""
        obj = self._call(
            f"read the subscription {subscription}", lambda: self._client.v1.subscriptions.retrieve(subscription)
        )
        doc: dict[str, Any] = obj.to_dict()
        named = (doc.get("metadata") or {}).get(ACCOUNT_METADATA)
        if change is not None and named and named != change.account_id:
            raise StripeMirrorError(
                f"the Stripe subscription {subscription} is account {named}'s, not {change.account_id}'s: not changed"
            )
        return doc

    def _create(
        self, change: MirrorChange, target: StripeTarget, customer: str, prices: dict[str, str], now: datetime
    ) -> str:
        params: dict[str, Any] = {
            "customer": customer,
            "items": [{"price": prices[k]} for k in target.lookup_keys],
            "collection_method": "charge_automatically",
            "metadata": {SUBSCRIPTION_METADATA: change.subscription_id, ACCOUNT_METADATA: change.account_id},
        }
        if target.cancel_at_period_end:
            params["cancel_at_period_end"] = True
        if self._automatic_tax:
            params["automatic_tax"] = {"enabled": True}
        if target.trial_end is not None:
            params["trial_end"] = _ts(target.trial_end)
        elif target.billing_cycle_anchor is not None and target.billing_cycle_anchor > now:
            # A relay running late (after the period end) leaves Stripe's own anchor: the past is refused.
            params["billing_cycle_anchor"] = _ts(target.billing_cycle_anchor)
            params["proration_behavior"] = target.anchor_proration
        key = idempotency_key("create", change.account_id, change.subscription_id, change.change_no, params)
        sub = self._call(
            f"create the subscription of {change.account_id}",
            lambda: self._client.v1.subscriptions.create(params=params, options={"idempotency_key": key}),  # type: ignore[arg-type]
        )
        return str(sub.id)

    def _update(
        self,
        change: MirrorChange,
        target: StripeTarget,
        subscription: str,
        current: dict[str, Any],
        prices: dict[str, str],
    ) -> None:
        wanted = {prices[k] for k in target.lookup_keys}
        held = [(str(i["id"]), _price_id(i)) for i in (current.get("items") or {}).get("data") or []]
        items: list[dict[str, Any]] = [{"id": i, "deleted": True} for i, p in held if p not in wanted]
        have = {p for _, p in held}
        items += [{"price": prices[k]} for k in target.lookup_keys if prices[k] not in have]
        params: dict[str, Any] = {
            "cancel_at_period_end": target.cancel_at_period_end,
            "proration_behavior": target.proration_behavior,
            "metadata": {SUBSCRIPTION_METADATA: change.subscription_id, ACCOUNT_METADATA: change.account_id},
        }
        if items:
            params["items"] = items
        if target.trial_end is not None and current.get("status") == "trialing":
            params["trial_end"] = _ts(target.trial_end)
        key = idempotency_key("update", change.account_id, change.subscription_id, change.change_no, params)
        self._call(
            f"update the subscription {subscription}",
            lambda: self._client.v1.subscriptions.update(subscription, params=params, options={"idempotency_key": key}),  # type: ignore[arg-type]
        )

    def _cancel(self, change: MirrorChange, subscription: str) -> None:
        key = idempotency_key("cancel", change.account_id, change.subscription_id, change.change_no, subscription)
        self._call(
            f"cancel the subscription {subscription}",
            lambda: self._client.v1.subscriptions.cancel(subscription, options={"idempotency_key": key}),
        )


def _price_id(item: dict[str, Any]) -> str:
    price = item.get("price")
    return str(price.get("id") if isinstance(price, dict) else price)
