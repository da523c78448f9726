"""The Stripe side of the catalog, synced: ``sync_catalog(client, version)`` reads what Stripe holds and
creates or updates what differs from ``desired_catalog(version)`` (``sinks/stripe/catalog_spec.py``);
run it twice and the second run changes nothing.

Idempotency: every write carries an ``Idempotency-Key``, the same on each retry, so a retried write is
never applied twice; a create's key is derived from what it creates, so a create re-sent by the next run
after a crash (within Stripe's 24 hours) finds the object made the first time. Fields Stripe cannot change (a price's
amount, interval, meter or product) are changed by creating a new price that takes over the lookup key
(``transfer_lookup_key``) and archiving the old one. A meter's aggregation, window or mappings cannot be
changed either, and its event name stays taken: a meter that differs there is an error to fix by hand.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

import orjson
import stripe
from stripe.params import PriceListParams

from rating.catalog.model import CatalogVersion
from sinks.errors import SinkUnavailable
from sinks.retry import RetryPolicy
from sinks.stripe.calls import with_retries
from sinks.stripe.catalog_spec import (
    METADATA_KEY,
    MeterSpec,
    PriceSpec,
    ProductSpec,
    StripeCatalogError,
    _asdict,
    desired_catalog,
)

log = logging.getLogger(__name__)

_DEFAULT_POLICY = RetryPolicy(initial=0.5, maximum=8.0, max_attempts=6)
Kind = Literal["meter", "product", "price"]
Outcome = Literal["created", "updated", "unchanged"]
KINDS: tuple[Kind, ...] = ("meter", "product", "price")
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged")


class StripeCatalogUnavailable(SinkUnavailable):
    """Stripe could not be reached or kept answering 429/5xx: try the sync again later."""


# --- sync (I/O) --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncAction:
    kind: Kind
    key: str  # event name, product key or lookup key
    outcome: Outcome
    stripe_id: str
    changes: tuple[str, ...] = ()  # the fields that differed; for a replaced price also "replaces <old id>"


@dataclass(slots=True)
class SyncReport:
    catalog_version: str
    dry_run: bool = False
    actions: list[SyncAction] = field(default_factory=list)

    def counts(self) -> dict[Kind, dict[Outcome, int]]:
        out = {k: dict.fromkeys(OUTCOMES, 0) for k in KINDS}
        for a in self.actions:
            out[a.kind][a.outcome] += 1
        return out

    @property
    def changed(self) -> bool:
        return any(a.outcome != "unchanged" for a in self.actions)

    def to_document(self) -> dict[str, Any]:
        return {
            "catalog_version": self.catalog_version,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "actions": [{**_asdict(a), "changes": list(a.changes)} for a in self.actions],
        }


T = TypeVar("T")
Obj = dict[str, Any]  # a Stripe object as plain data (StripeObject.to_dict())


def idempotency_key(op: str, target: str | None, params: Mapping[str, Any]) -> str:
    """Derived from the write itself: the same write retried gets the same key, a different one never."""
    material = orjson.dumps([op, target, params], option=orjson.OPT_SORT_KEYS, default=str)
    return f"meterline-catalog-{op}-{hashlib.sha256(material).hexdigest()[:40]}"


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


class _Syncer:
    def __init__(
        self,
        client: stripe.StripeClient,
        report: SyncReport,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        self.client, self.report, self.policy, self.sleep, self.rng = client, report, policy, sleep, rng
        self.run = uuid.uuid4().hex

    def call(self, what: str, fn: Callable[[], T]) -> T:
        return with_retries(
            what,
            fn,
            self.policy,
            self.sleep,
            self.rng,
            refused=StripeCatalogError,
            unavailable=StripeCatalogUnavailable,
        )

    def list_all(self, what: str, fn: Callable[[], Any]) -> list[Obj]:
        def fetch() -> list[Obj]:
            return [o.to_dict() for o in fn().auto_paging_iter()]

        return self.call(f"list {what}", fetch)

    def write(
        self,
        what: str,
        op: str,
        params: dict[str, Any],
        fn: Callable[..., Any],
        *,
        target: str | None = None,
        replaces: str | None = None,
    ) -> str:
        """One write with its idempotency key; returns the object's id. A create's key is derived from what
        it creates (and what it ``replaces``), so a create re-sent after a crash, even by the next run, finds
        the object made the first time. A change of ``target`` sets fields to values, harmless to repeat: its
        key also names this run, so that a later run that must set the same value again really does."""
        material = replaces if target is None else f"{target}@{self.run}"
        options: dict[str, Any] = {"idempotency_key": idempotency_key(op, material, params)}
        if target is None:
            obj = self.call(what, lambda: fn(params=params, options=options))
        else:
            obj = self.call(what, lambda: fn(target, params=params, options=options))
        return str(obj.id)

    def record(self, kind: Kind, key: str, outcome: Outcome, stripe_id: str, changes: Iterable[str] = ()) -> None:
        action = SyncAction(kind, key, outcome, stripe_id, tuple(changes))
        self.report.actions.append(action)
        log.info("stripe %s %s: %s %s %s", kind, key, outcome, stripe_id, " ".join(action.changes))

    # meters: found by event_name; checked all before anything is written

    def meters(self, specs: Iterable[MeterSpec]) -> dict[str, str]:
        specs = list(specs)
        found: dict[str, Obj] = {}
        if specs:
            for m in self.list_all("meters", lambda: self.client.v1.billing.meters.list(params={"limit": 100})):
                held = found.get(m["event_name"])
                if held is None or held.get("status") != "active":
                    found[m["event_name"]] = m
        plans = [(spec, found.get(spec.event_name)) for spec in specs]
        for spec, meter in plans:
            if meter is not None:
                _check_meter(spec, meter)
        return {spec.event_name: self._meter(spec, meter) for spec, meter in plans}

    def _meter(self, spec: MeterSpec, meter: Obj | None) -> str:
        svc = self.client.v1.billing.meters
        if meter is None:
            new_id = f"(new meter {spec.event_name})"
            if not self.report.dry_run:
                params = spec.create_params()
                new_id = self.write(f"create the meter {spec.event_name}", "meter", params, svc.create)
            self.record("meter", spec.event_name, "created", new_id)
            return new_id
        meter_id = str(meter["id"])
        changes = []
        if meter.get("status") != "active":
            changes.append("status")
            if not self.report.dry_run:
                self.write(
                    f"reactivate the meter {spec.event_name}", "meter-reactivate", {}, svc.reactivate, target=meter_id
                )
        if meter.get("display_name") != spec.display_name:
            changes.append("display_name")
            if not self.report.dry_run:
                params = {"display_name": spec.display_name}
                self.write(f"update the meter {spec.event_name}", "meter-update", params, svc.update, target=meter_id)
        self.record("meter", spec.event_name, "updated" if changes else "unchanged", meter_id, changes)
        return meter_id

    # products: found by metadata[meterline_key]

    def products(self, specs: Iterable[ProductSpec]) -> dict[str, str]:
        specs = list(specs)
        wanted = {s.key for s in specs}
        found: dict[str, Obj] = {}
        if specs:
            for p in self.list_all("products", lambda: self.client.v1.products.list(params={"limit": 100})):
                key = _get(p, "metadata", METADATA_KEY)
                if key not in wanted:
                    continue
                held = found.get(key)
                if held is not None:
                    log.warning("two Stripe products carry %s=%s: %s and %s", METADATA_KEY, key, held["id"], p["id"])
                    if held.get("active") or not p.get("active"):
                        continue  # keep an active one, the first listed (newest) among equals
                found[key] = p
        return {s.key: self._product(s, found.get(s.key)) for s in specs}

    def _product(self, spec: ProductSpec, product: Obj | None) -> str:
        svc = self.client.v1.products
        fields = spec.fields()
        if product is None:
            new_id = f"(new product {spec.key})"
            if not self.report.dry_run:
                new_id = self.write(f"create the product {spec.key}", "product", fields, svc.create)
            self.record("product", spec.key, "created", new_id)
            return new_id
        product_id = str(product["id"])
        update = {k: v for k, v in fields.items() if k != "metadata" and product.get(k) != v}
        if not product.get("active"):
            update["active"] = True
        if update and not self.report.dry_run:
            self.write(f"update the product {spec.key}", "product-update", update, svc.update, target=product_id)
        self.record("product", spec.key, "updated" if update else "unchanged", product_id, sorted(update))
        return product_id

    # prices: found by lookup_key

    def prices(self, specs: Iterable[PriceSpec], products: Mapping[str, str], meters: Mapping[str, str]) -> None:
        specs = list(specs)
        found: dict[str, Obj] = {}
        keys = [s.lookup_key for s in specs]
        for i in range(0, len(keys), 10):  # Stripe takes up to 10 lookup keys per list call
            chunk = keys[i : i + 10]
            params: PriceListParams = {"lookup_keys": chunk, "limit": 100}
            for p in self.list_all("prices", functools.partial(self.client.v1.prices.list, params=params)):
                if p.get("lookup_key") in chunk:  # Stripe filters; checked all the same
                    found[p["lookup_key"]] = p
        for spec in specs:
            meter_id = meters[spec.meter] if spec.meter else None
            self._price(spec, products[spec.product_key], meter_id, found.get(spec.lookup_key))

    def _price(self, spec: PriceSpec, product_id: str, meter_id: str | None, price: Obj | None) -> None:
        svc = self.client.v1.prices
        metadata = {METADATA_KEY: spec.lookup_key}
        fixed = [] if price is None else _price_differences(spec, price, product_id, meter_id)
        if price is not None and not fixed:
            price_id = str(price["id"])
            update: dict[str, Any] = {}
            if price.get("nickname") != spec.nickname:
                update["nickname"] = spec.nickname
            if _get(price, "metadata", METADATA_KEY) != spec.lookup_key:
                update["metadata"] = metadata
            if not price.get("active"):
                update["active"] = True
            if update and not self.report.dry_run:
                self.write(f"update the price {spec.lookup_key}", "price-update", update, svc.update, target=price_id)
            self.record("price", spec.lookup_key, "updated" if update else "unchanged", price_id, sorted(update))
            return
        # New, or a field Stripe cannot change differs: a new price takes the lookup key over.
        recurring: dict[str, Any] = {"interval": spec.interval, "interval_count": 1, "usage_type": spec.usage_type}
        if meter_id is not None:
            recurring["meter"] = meter_id
        params: dict[str, Any] = {
            "currency": spec.currency,
            "product": product_id,
            "unit_amount_decimal": Decimal(spec.unit_amount_decimal),
            "billing_scheme": "per_unit",
            "recurring": recurring,
            "lookup_key": spec.lookup_key,
            "transfer_lookup_key": True,  # from an older (or archived) price that holds it
            "nickname": spec.nickname,
            "metadata": metadata,
        }
        replaced = None if price is None else str(price["id"])
        new_id = f"(new price {spec.lookup_key})"
        if not self.report.dry_run:
            new_id = self.write(f"create the price {spec.lookup_key}", "price", params, svc.create, replaces=replaced)
            if price is not None and price.get("active"):
                off: dict[str, Any] = {"active": False}
                self.write(f"archive the price {replaced}", "price-archive", off, svc.update, target=replaced)
        changes = fixed + ([f"replaces {replaced}"] if replaced else [])
        self.record("price", spec.lookup_key, "created", new_id, changes)


def _check_meter(spec: MeterSpec, meter: Obj) -> None:
    """A meter's aggregation, window and payload keys cannot be changed: a difference is an error."""
    want = spec.create_params()
    checks = [
        ("default_aggregation", "formula"),
        ("event_time_window",),
        ("customer_mapping", "type"),
        ("customer_mapping", "event_payload_key"),
        ("value_settings", "event_payload_key"),
    ]
    wrong = [
        f"{'.'.join(path)}={_get(meter, *path)!r} (want {_get(want, *path)!r})"
        for path in checks
        if _get(meter, *path) != _get(want, *path)
    ]
    if wrong:
        raise StripeCatalogError(
            f"the Stripe meter {meter.get('id')} ({spec.event_name}) has {', '.join(wrong)}; Stripe cannot change "
            "that and the event name stays taken: fix it by hand (nothing was written)"
        )


def _price_differences(spec: PriceSpec, price: Obj, product_id: str, meter_id: str | None) -> list[str]:
    """The fields that Stripe cannot update and that differ from the spec (any one means a new price)."""
    amount = price.get("unit_amount_decimal")
    if amount is None and price.get("unit_amount") is not None:
        amount = price["unit_amount"]
    product = price.get("product")
    have: dict[str, Any] = {
        "currency": price.get("currency"),
        "product": _get(product, "id") if isinstance(product, dict) else product,
        "unit_amount_decimal": None if amount is None else Decimal(str(amount)),
        "billing_scheme": price.get("billing_scheme"),
        "recurring.interval": _get(price, "recurring", "interval"),
        "recurring.interval_count": _get(price, "recurring", "interval_count"),
        "recurring.usage_type": _get(price, "recurring", "usage_type"),
        "recurring.meter": _get(price, "recurring", "meter"),
    }
    want: dict[str, Any] = {
        "currency": spec.currency,
        "product": product_id,
        "unit_amount_decimal": Decimal(spec.unit_amount_decimal),
        "billing_scheme": "per_unit",
        "recurring.interval": spec.interval,
        "recurring.interval_count": 1,
        "recurring.usage_type": spec.usage_type,
        "recurring.meter": meter_id,
    }
    return [k for k, v in want.items() if have[k] != v]


def sync_catalog(
    client: stripe.StripeClient,
    catalog_version: CatalogVersion,
    *,
    dry_run: bool = False,
    policy: RetryPolicy = _DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> SyncReport:
    """Make Stripe hold what ``desired_catalog(catalog_version)`` says: meters first (all checked before
    any write), then products, then prices. 429, 5xx and connection errors are retried with jittered
    backoff (writes carry idempotency keys, so a retry never creates twice) and raise
    ``StripeCatalogUnavailable`` when attempts run out; other 4xx raise ``StripeCatalogError`` at once.
    With ``dry_run`` nothing is written and the report says what would be."""
    spec = desired_catalog(catalog_version)
    report = SyncReport(spec.catalog_version, dry_run)
    syncer = _Syncer(client, report, policy, sleep, rng or random.Random())
    meters = syncer.meters(spec.meters)
    products = syncer.products(spec.products)
    syncer.prices(spec.prices, products, meters)
    return report
