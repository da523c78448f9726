"""The catalog as typed, frozen data: tiers, metered rules, tiered prices, add-ons, AI costs.

Tiers, prices and limits are data (STYLE 4): nothing in rating/ branches on a tier's name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rating.seats import SeatBasis


def _no_float(v: Any) -> Any:
    if isinstance(v, float):
        raise ValueError('write amounts as strings ("0.01"), never as floats')
    return v


def _non_negative(v: Decimal) -> Decimal:
    if not v.is_finite() or v < 0:
        raise ValueError("must be a finite amount >= 0")
    return v


Amount = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_non_negative)]
Aggregation = Literal["sum", "count", "max", "latest", "unique_count", "time_weighted_average"]
Interval = Literal["month", "year"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceTier(_Frozen):
    up_to: Amount | None = None  # None: no upper bound (the last tier)
    unit_amount: Amount = Decimal(0)
    flat_amount: Amount = Decimal(0)


class TieredPrice(_Frozen):
    """Stripe's tiers model: ``volume`` prices all units at the reached tier, ``graduated`` per tier."""

    mode: Literal["volume", "graduated"]
    tiers: tuple[PriceTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> TieredPrice:
        bounds = [t.up_to for t in self.tiers]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError("only the last tier may (and must) have no up_to")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(finite) or len(set(finite)) != len(finite):
            raise ValueError("tiers must be in increasing up_to order")
        return self


class MeteredRule(_Frozen):
    """How one metric is aggregated, included, capped and priced for a tier."""

    entitled: bool = True
    aggregation: Aggregation = "sum"
    included: Amount | None = None  # None: unlimited (nothing billable beyond it, unless unit_price)
    hard_cap: Amount | None = None
    unit_price: Amount | None = None  # per unit over `included`
    fair_use_alert: Amount | None = None
    per_feature: dict[str, Amount] = Field(default_factory=dict)  # premium features: price per use


class PaymentTerms(_Frozen):
    collection: Literal["none", "charge_automatically", "send_invoice"]
    days_until_due: int | None = Field(None, ge=0, le=365)


class Tier(_Frozen):
    display_name: str
    features: frozenset[str] = frozenset()
    rate_limit_per_minute: int = Field(ge=0)
    base_fee: dict[Interval, Amount] = Field(default_factory=dict)
    platform_fee: dict[Interval, Amount] = Field(default_factory=dict)
    seats: TieredPrice | None = None
    minimum_seats: int = Field(0, ge=0)  # seats billed at least (a contract's commitment; docs/rating.md)
    seat_basis: SeatBasis = "active"  # who is a seat: active users, or the most members (rating/seats.py)
    metrics: dict[str, MeteredRule] = Field(default_factory=dict)
    payment_terms: PaymentTerms


class Addon(_Frozen):
    description: str
    unit: str
    kind: Literal["one_time", "recurring", "hourly"] = "one_time"  # how it is billed (rating/addons.py)
    unit_amount: Amount | None = None  # None: priced by quote


class AiCost(_Frozen):
    input_per_million: Amount
    output_per_million: Amount


class CatalogVersion(_Frozen):
    version: str = Field(min_length=1)
    effective_from: datetime
    currency: Literal["usd"] = "usd"
    default_tier: str | None = None  # what an account without a (live) subscription is rated under
    tiers: dict[str, Tier]
    addons: dict[str, Addon] = Field(default_factory=dict)
    ai_costs: dict[str, dict[str, AiCost]] = Field(default_factory=dict)
    #: How people read the ids of metrics and features (the tiers', and premium features used per use): the web
    #: app's words for them, served with the plans. Ids stay ids everywhere else.
    metric_names: dict[str, str] = Field(default_factory=dict)
    feature_names: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aware(self) -> CatalogVersion:
        if self.effective_from.tzinfo is None:
            raise ValueError("effective_from needs a UTC offset")
        if self.default_tier is not None and self.default_tier not in self.tiers:
            raise ValueError(f"default_tier {self.default_tier!r} is not one of the tiers {sorted(self.tiers)}")
        return self


class Commitment(_Frozen):
    """The least an account pays per usage period or per contract year (rating/credits.py)."""

    amount: Amount
    per: Literal["period", "contract_year"] = "period"


class ContractTerm(_Frozen):
    """A contract's dates: it runs from ``starts_on`` to ``ends_on``, then renews for ``renewal_months`` at a
    time (``auto_renew``) or ends (``end``: its end is scheduled as a clearing, docs/rating.md "Contracts")."""

    starts_on: date
    ends_on: date
    renewal: Literal["auto_renew", "end"] = "auto_renew"
    renewal_months: int = Field(12, ge=1, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> ContractTerm:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class ContractOverrides(_Frozen):
    """An enterprise contract: any price, quantity or term of the tier, for one account."""

    tier: Tier | None = None  # a whole replacement tier, rarely needed
    base_fee: dict[Interval, Amount] | None = None
    platform_fee: dict[Interval, Amount] | None = None
    seats: TieredPrice | None = None
    seat_mode: Literal["volume", "graduated"] | None = None  # the seat brackets (the contract's or tier's) priced so
    minimum_seats: int | None = Field(None, ge=0)
    seat_basis: SeatBasis | None = None  # active users (the tier's) or provisioned: the most members (rating/seats.py)
    metrics: dict[str, MeteredRule] = Field(default_factory=dict)  # per metric, replaces the tier's rule
    payment_terms: PaymentTerms | None = None
    rate_limit_per_minute: int | None = Field(None, ge=0)
    addons: dict[str, Amount] = Field(default_factory=dict)  # negotiated add-on prices
    commitment: Commitment | None = None  # a minimum spend, trued up on the invoice (rating/credits.py)
    term: ContractTerm | None = None  # start, end and renewal (rating/contract_terms.py)
    currency: Literal["usd"] = "usd"  # the catalog's one currency; a contract states it

    def apply(self, tier: Tier) -> Tier:
        base = self.tier or tier
        update: dict[str, Any] = {"metrics": {**base.metrics, **self.metrics}}
        for name in (
            "base_fee",
            "platform_fee",
            "seats",
            "minimum_seats",
            "seat_basis",
            "payment_terms",
            "rate_limit_per_minute",
        ):
            value = getattr(self, name)
            if value is not None:
                update[name] = value
        seats = update.get("seats", base.seats)
        if self.seat_mode is not None and seats is not None:
            update["seats"] = seats.model_copy(update={"mode": self.seat_mode})
        return base.model_copy(update=update)
