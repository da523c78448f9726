"""What Stripe must hold for a catalog version (pure: no I/O): Billing Meters, products and prices,
and the meter units the reporter uses. ``sinks/stripe/catalog.py`` syncs it to Stripe.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from rating.catalog.model import CatalogVersion, Interval, Tier
from rating.money import cents_exact
from schemas.events import Metric
from sinks.errors import SinkRejected

METADATA_KEY = "meterline_key"  # products carry their catalog key in metadata[meterline_key]
API_CALLS_OVERAGE = "api_calls_overage"  # invoice line codes (docs/architecture.md §10)
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


class StripeCatalogError(SinkRejected):
    """The catalog cannot be expressed in Stripe, Stripe holds something that cannot be reconciled
    automatically, or Stripe refused a write (4xx): a retry will not help, a fix will."""


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
    if metric == Metric.API_CALLS:
        return API_CALLS_OVERAGE
    if metric == Metric.PREMIUM_FEATURE:
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


_USAGE_METRICS = {Metric.API_CALLS: API_CALLS_OVERAGE, Metric.STORAGE_GB: STORAGE_OVERAGE}  # metric -> line code
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
    premium = tier.metrics.get(Metric.PREMIUM_FEATURE)
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
