"""The Stripe side of the catalog: Billing Meters, products and prices, created or updated idempotently.

``desired_catalog(version)`` is pure: it works out from a catalog version what Stripe must hold.
``sync_catalog(client, version)`` reads what Stripe holds and creates or updates what differs; run it
twice and the second run changes nothing.

What is synced, and how each object is found again:

- A **product per paid tier** (any non-zero base or platform fee, seats, or priced usage), found by
  ``metadata[meterline_key]`` = ``meterline_tier_<tier>``.
- The **base prices** of each tier with a base fee, one per interval (``month``, ``year``): recurring
  licensed prices found by ``lookup_key`` = ``meterline_<tier>_base_<interval>``.
- A **Billing Meter** per billable usage of the tiers that Stripe collects through a subscription
  (``payment_terms.collection = charge_automatically``; invoiced tiers are billed by invoice items), found
  by ``event_name``; ``default_aggregation.formula=sum``, ``event_time_window=hour`` (a corrected window
  value replaces the old one), ``customer_mapping`` by id from the payload key ``stripe_customer_id``,
  value from the payload key ``value``. Beside it a product (``metadata[meterline_key]`` = the event
  name, so invoice lines read well) and a **metered price** attached to the meter
  (``recurring.usage_type=metered``, ``recurring.meter=<meter id>``, monthly, since usage periods are
  monthly for annual plans too) whose ``lookup_key`` is the event name.

Meters, their units and unit prices. Meters take whole numbers only, so units are chosen to make the
reported values whole; prices are in cents, as ``unit_amount_decimal`` strings made from ``Decimal``:

- ``api_calls_overage`` -> meter ``meterline_api_calls_overage``; one unit = 1 API call; cents per unit =
  price per call x 100 ($0.01 -> ``"1"``).
- ``storage_overage`` -> meter ``meterline_storage_overage``; one unit = 1 milli-GB-month (1/1000 of a GB
  stored for a whole month); cents per unit = price per GB-month x 100 / 1000 ($0.10 -> ``"0.01"``).
- ``premium_feature:<feature>`` -> meter ``meterline_premium_<feature>``; one unit = 1 use; cents per unit
  = price per use x 100 ($0.50 -> ``"50"``).
- base prices: cents per period ($49.99 a month -> ``"4999"``, $499.90 a year -> ``"49990"``).

Storage overage is the period's time-weighted average GB over the included quantity, a GB-month figure
with decimals; reported in milli-GB-months (``meter_value``: x 1000, rounded half-even) it is a whole
number, and the unit price is scaled by 1/1000 to match. It depends on the whole period, so it is reported
once, at period close.

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
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, TypeVar

import orjson
import stripe
from stripe.params import PriceListParams

from rating.catalog.model import CatalogVersion, Interval, Tier
from rating.money import cents_exact
from sinks.errors import SinkRejected, SinkUnavailable
from sinks.retry import RetryPolicy
from sinks.stripe.calls import with_retries

log = logging.getLogger(__name__)

METADATA_KEY = "meterline_key"  # products carry their catalog key in metadata[meterline_key]
API_CALLS_OVERAGE = "api_calls_overage"  # invoice line codes (DESIGN §10)
STORAGE_OVERAGE = "storage_overage"
PREMIUM_FEATURE = "premium_feature:"
API_CALLS_OVERAGE_METER = "meterline_api_calls_overage"  # meter event names
STORAGE_OVERAGE_METER = "meterline_storage_overage"
PREMIUM_METER_PREFIX = "meterline_premium_"
CUSTOMER_PAYLOAD_KEY = "stripe_customer_id"  # what sinks.stripe.meter puts in each meter event's payload
VALUE_PAYLOAD_KEY = "value"
STORAGE_UNITS_PER_GB_MONTH = 1000  # storage overage is metered in milli-GB-months
MAX_DECIMALS = 12  # Stripe accepts at most 12 decimal places in unit_amount_decimal
_FEATURE = re.compile(r"^[a-z0-9_]+$")
_DEFAULT_POLICY = RetryPolicy(initial=0.5, maximum=8.0, max_attempts=6)

Kind = Literal["meter", "product", "price"]
Outcome = Literal["created", "updated", "unchanged"]
KINDS: tuple[Kind, ...] = ("meter", "product", "price")
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged")


class StripeCatalogError(SinkRejected):
    """The catalog cannot be expressed in Stripe, Stripe holds something that cannot be reconciled
    automatically, or Stripe refused a write (4xx): a retry will not help, a fix will."""


class StripeCatalogUnavailable(SinkUnavailable):
    """Stripe could not be reached or kept answering 429/5xx: try the sync again later."""


# --- meters: names and units (shared with the reporter) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterUnit:
    code: str  # invoice line code: api_calls_overage, storage_overage, premium_feature:<name>
    event_name: str  # the Billing Meter's event_name, what the reporter sends
    unit: str  # what one meter unit is
    per_quantity: int  # meter units per unit of the invoice line's quantity


def meter_unit(code: str) -> MeterUnit:
    """The meter of an invoice line code; raises ``StripeCatalogError`` for a code that has none."""
    if code == API_CALLS_OVERAGE:
        return MeterUnit(code, API_CALLS_OVERAGE_METER, "call", 1)
    if code == STORAGE_OVERAGE:
        return MeterUnit(code, STORAGE_OVERAGE_METER, "milli-GB-month", STORAGE_UNITS_PER_GB_MONTH)
    if code.startswith(PREMIUM_FEATURE):
        feature = code[len(PREMIUM_FEATURE) :]
        name = PREMIUM_METER_PREFIX + feature
        if not _FEATURE.match(feature) or len(name) > 100:
            raise StripeCatalogError(
                f"premium feature {feature!r}: a meter event name needs [a-z0-9_] and at most 100 characters"
            )
        return MeterUnit(code, name, "use", 1)
    raise StripeCatalogError(f"no Stripe meter for the line code {code!r}")


def metered_line_code(metric: str, dimension: str) -> str | None:
    """The invoice line code whose meter a settled hour of ``metric`` reports to, if any (storage is
    reported once per period, from the invoice)."""
    if metric == "api_calls":
        return API_CALLS_OVERAGE
    if metric == "premium_feature":
        return PREMIUM_FEATURE + dimension
    return None


def meter_event_name(code: str) -> str:
    """``api_calls_overage`` -> ``meterline_api_calls_overage``, ``storage_overage`` ->
    ``meterline_storage_overage``, ``premium_feature:<f>`` -> ``meterline_premium_<f>``."""
    return meter_unit(code).event_name


def meter_code(event_name: str) -> str:
    """The invoice line code of a meter event name (the inverse of ``meter_event_name``)."""
    if event_name == API_CALLS_OVERAGE_METER:
        return API_CALLS_OVERAGE
    if event_name == STORAGE_OVERAGE_METER:
        return STORAGE_OVERAGE
    if event_name.startswith(PREMIUM_METER_PREFIX):
        return PREMIUM_FEATURE + event_name[len(PREMIUM_METER_PREFIX) :]
    raise StripeCatalogError(f"{event_name!r} is not a Meterline meter")


def meter_value(code: str, quantity: Decimal) -> int:
    """The whole number of meter units to report for an invoice line quantity (storage: GB-months ->
    milli-GB-months, rounded half-even)."""
    if not quantity.is_finite() or quantity < 0:
        raise StripeCatalogError(f"{code}: cannot report the quantity {quantity}")
    return int((quantity * meter_unit(code).per_quantity).to_integral_value(ROUND_HALF_EVEN))


# --- the desired state (pure) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterSpec:
    event_name: str
    display_name: str
    code: str  # invoice line code
    unit: str

    def create_params(self) -> dict[str, Any]:
        return {
            "event_name": self.event_name,
            "display_name": self.display_name,
            "default_aggregation": {"formula": "sum"},
            "event_time_window": "hour",
            "customer_mapping": {"type": "by_id", "event_payload_key": CUSTOMER_PAYLOAD_KEY},
            "value_settings": {"event_payload_key": VALUE_PAYLOAD_KEY},
        }


@dataclass(frozen=True, slots=True)
class ProductSpec:
    key: str  # metadata[meterline_key]
    name: str
    description: str | None = None
    unit_label: str | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "metadata": {METADATA_KEY: self.key}}
        if self.description is not None:
            out["description"] = self.description
        if self.unit_label is not None:
            out["unit_label"] = self.unit_label
        return out


@dataclass(frozen=True, slots=True)
class PriceSpec:
    lookup_key: str
    product_key: str  # the ProductSpec.key it belongs to
    nickname: str
    currency: str
    unit_amount_decimal: str  # cents, a decimal string
    interval: Interval
    usage_type: Literal["licensed", "metered"]
    meter: str | None = None  # event_name of the meter a metered price is attached to


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    catalog_version: str
    meters: tuple[MeterSpec, ...]
    products: tuple[ProductSpec, ...]
    prices: tuple[PriceSpec, ...]

    def to_document(self) -> dict[str, Any]:
        return {
            "catalog_version": self.catalog_version,
            "meters": [_asdict(m) for m in self.meters],
            "products": [_asdict(p) for p in self.products],
            "prices": [_asdict(p) for p in self.prices],
        }


def _asdict(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def cents(amount: Decimal, per: int = 1) -> str:
    """A money amount (currency units) as cents per ``1/per`` of the unit: an exact decimal string with
    at most 12 decimal places, as ``unit_amount_decimal`` wants (``Decimal("49.99")`` -> ``"4999"``)."""
    value = cents_exact(amount, per)
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value < 0 or (isinstance(exponent, int) and exponent < -MAX_DECIMALS):
        raise StripeCatalogError(f"{amount} / {per} is not a price Stripe can hold (at most 12 decimals of a cent)")
    return format(value, "f")


def _is_paid(tier: Tier) -> bool:
    fees = [*tier.base_fee.values(), *tier.platform_fee.values()]
    usage = [r.unit_price or Decimal(0) for r in tier.metrics.values()]
    usage += [p for r in tier.metrics.values() for p in r.per_feature.values()]
    return tier.seats is not None or any(v > 0 for v in fees + usage)


def tier_product_key(tier: str) -> str:
    return f"meterline_tier_{tier}"


def base_price_key(tier: str, interval: Interval) -> str:
    return f"meterline_{tier}_base_{interval}"


_USAGE_METRICS = {"api_calls": API_CALLS_OVERAGE, "storage_gb": STORAGE_OVERAGE}  # metric -> line code
_USAGE_TEXT = {
    API_CALLS_OVERAGE: ("API calls over the included quantity", "call", "API calls over the included quantity."),
    STORAGE_OVERAGE: (
        "Storage over the included quantity",
        "mGB-month",
        "Storage over the included quantity, on the period's time-weighted average, in milli-GB-months "
        "(1,000 units = 1 GB for a whole month).",
    ),
}


def _usage_prices(tier: Tier) -> dict[str, Decimal]:
    """Invoice line code -> price per unit of the line's quantity, for what this tier bills by usage."""
    out: dict[str, Decimal] = {}
    for metric, code in _USAGE_METRICS.items():
        rule = tier.metrics.get(metric)
        if rule is not None and rule.entitled and rule.unit_price is not None and rule.unit_price > 0:
            out[code] = rule.unit_price
    premium = tier.metrics.get("premium_feature")
    if premium is not None and premium.entitled:
        for feature, price in sorted(premium.per_feature.items()):
            if price > 0:
                out[PREMIUM_FEATURE + feature] = price
    return out


def desired_catalog(version: CatalogVersion) -> CatalogSpec:
    """What Stripe must hold for a catalog version: meters, products and prices, in a stable order."""
    products: list[ProductSpec] = []
    prices: list[PriceSpec] = []
    for name, tier in version.tiers.items():
        if not _is_paid(tier):
            continue
        products.append(ProductSpec(tier_product_key(name), f"{tier.display_name} plan"))
        for interval in ("month", "year"):
            fee = tier.base_fee.get(interval)
            if fee is not None and fee > 0:
                prices.append(
                    PriceSpec(
                        base_price_key(name, interval),
                        tier_product_key(name),
                        f"{tier.display_name} plan, {'monthly' if interval == 'month' else 'annual'}",
                        version.currency,
                        cents(fee),
                        interval,
                        "licensed",
                    )
                )

    usage: dict[str, tuple[Decimal, str]] = {}  # line code -> (unit price, tier it came from)
    for name, tier in version.tiers.items():
        if tier.payment_terms.collection != "charge_automatically":
            continue
        for code, price in _usage_prices(tier).items():
            seen = usage.setdefault(code, (price, name))
            if seen[0] != price:
                raise StripeCatalogError(
                    f"{code}: tiers {seen[1]!r} and {name!r} price it differently ({seen[0]} vs {price}), "
                    "but a meter has one metered price (lookup key per meter)"
                )

    meters: list[MeterSpec] = []
    for code in sorted(usage, key=lambda c: (c.startswith(PREMIUM_FEATURE), c)):
        unit = meter_unit(code)
        if code in _USAGE_TEXT:
            title, label, description = _USAGE_TEXT[code]
        else:
            feature = code[len(PREMIUM_FEATURE) :]
            title, label = f"Premium feature {feature}", "use"
            description = f"Uses of the premium feature {feature}."
        meters.append(MeterSpec(unit.event_name, title, code, unit.unit))
        products.append(ProductSpec(unit.event_name, title, description, label))
        prices.append(
            PriceSpec(
                unit.event_name,
                unit.event_name,
                f"{title}, per {unit.unit}",
                version.currency,
                cents(usage[code][0], unit.per_quantity),
                "month",
                "metered",
                unit.event_name,
            )
        )
    return CatalogSpec(version.version, tuple(meters), tuple(products), tuple(prices))


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
