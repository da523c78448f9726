"""What Stripe must hold for the default catalog, worked out by hand (docs/architecture.md §5), and the meter names
and units the reporter shares with the catalog sync."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rating.catalog.loader import load_catalog
from rating.catalog.model import CatalogVersion, PaymentTerms
from sinks.errors import SinkError, SinkRejected
from sinks.stripe.catalog import idempotency_key
from sinks.stripe.catalog_spec import (
    API_CALLS_OVERAGE_METER,
    STORAGE_OVERAGE_METER,
    CatalogSpec,
    StripeCatalogError,
    cents,
    desired_catalog,
    meter_code,
    meter_event_name,
    meter_value,
)

PREMIUM = ["deep_research", "document_analysis", "voice_synthesis"]


@pytest.fixture(scope="module")
def catalog() -> CatalogVersion:
    return load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def spec(catalog: CatalogVersion) -> CatalogSpec:
    return desired_catalog(catalog)


def test_meters_for_overage_and_each_premium_feature(spec: CatalogSpec) -> None:
    assert [m.event_name for m in spec.meters] == [
        "meterline_api_calls_overage",
        "meterline_storage_overage",
        *[f"meterline_premium_{f}" for f in PREMIUM],
    ]
    assert [m.code for m in spec.meters] == [
        "api_calls_overage",
        "storage_overage",
        *[f"premium_feature:{f}" for f in PREMIUM],
    ]
    assert [m.unit for m in spec.meters] == ["call", "milli-GB-month", "use", "use", "use"]
    params = spec.meters[0].create_params()
    assert params == {
        "event_name": "meterline_api_calls_overage",
        "display_name": "API calls over the included quantity",
        "default_aggregation": {"formula": "sum"},
        "event_time_window": "hour",
        "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
        "value_settings": {"event_payload_key": "value"},
    }


def test_a_product_per_paid_tier_and_per_metered_item(spec: CatalogSpec) -> None:
    keys = [p.key for p in spec.products]
    # free charges nothing: no product; enterprise is paid (platform fee, seats) though invoiced.
    assert keys == [
        "meterline_tier_standard",
        "meterline_tier_enterprise",
        "meterline_api_calls_overage",
        "meterline_storage_overage",
        *[f"meterline_premium_{f}" for f in PREMIUM],
    ]
    names = {p.key: p.name for p in spec.products}
    assert names["meterline_tier_standard"] == "Standard plan"
    assert names["meterline_tier_enterprise"] == "Enterprise plan"
    storage = next(p for p in spec.products if p.key == "meterline_storage_overage")
    assert storage.unit_label == "mGB-month" and "milli-GB-months" in (storage.description or "")
    assert spec.products[0].fields() == {
        "name": "Standard plan",
        "metadata": {"meterline_key": "meterline_tier_standard"},
    }


def test_prices_worked_out_by_hand(spec: CatalogSpec) -> None:
    prices = {p.lookup_key: p for p in spec.prices}
    assert list(prices) == [
        "meterline_standard_base_month",
        "meterline_standard_base_year",
        "meterline_api_calls_overage",
        "meterline_storage_overage",
        *[f"meterline_premium_{f}" for f in PREMIUM],
    ]
    expected = {
        # $49.99 / month, $499.90 / year
        "meterline_standard_base_month": ("4999", "month", "licensed", None, "meterline_tier_standard"),
        "meterline_standard_base_year": ("49990", "year", "licensed", None, "meterline_tier_standard"),
        # $0.01 per call = 1 cent per call
        "meterline_api_calls_overage": ("1", "month", "metered", API_CALLS_OVERAGE_METER, API_CALLS_OVERAGE_METER),
        # $0.10 per GB-month = 10 cents per 1,000 milli-GB-months = 0.01 cent per unit
        "meterline_storage_overage": ("0.01", "month", "metered", STORAGE_OVERAGE_METER, STORAGE_OVERAGE_METER),
        # $0.50, $0.05, $0.20 per use
        "meterline_premium_deep_research": ("50", "month", "metered", "meterline_premium_deep_research", None),
        "meterline_premium_document_analysis": ("5", "month", "metered", "meterline_premium_document_analysis", None),
        "meterline_premium_voice_synthesis": ("20", "month", "metered", "meterline_premium_voice_synthesis", None),
    }
    for key, (amount, interval, usage, meter, product) in expected.items():
        p = prices[key]
        assert (p.unit_amount_decimal, p.interval, p.usage_type, p.meter) == (amount, interval, usage, meter), key
        assert p.currency == "usd" and isinstance(p.unit_amount_decimal, str)
        assert p.product_key == (product or key)
    assert prices["meterline_standard_base_month"].nickname == "Standard plan, monthly"
    assert prices["meterline_standard_base_year"].nickname == "Standard plan, annual"
    # every metered price is attached to a meter of the spec
    assert {p.meter for p in spec.prices if p.usage_type == "metered"} == {m.event_name for m in spec.meters}


def test_the_spec_is_a_plain_document(spec: CatalogSpec) -> None:
    doc = spec.to_document()
    assert doc["catalog_version"] == "2026-01"
    assert doc["prices"][0]["unit_amount_decimal"] == "4999"
    assert len(doc["meters"]) == 5 and len(doc["products"]) == 7 and len(doc["prices"]) == 7


def test_invoiced_tiers_get_no_meters(catalog: CatalogVersion) -> None:
    """Only tiers Stripe collects through a subscription are metered; invoiced ones get invoice items."""
    standard = catalog.tiers["standard"].model_copy(
        update={"payment_terms": PaymentTerms(collection="send_invoice", days_until_due=30)}
    )
    spec = desired_catalog(catalog.model_copy(update={"tiers": {**catalog.tiers, "standard": standard}}))
    assert spec.meters == () and all(p.usage_type == "licensed" for p in spec.prices)
    assert [p.lookup_key for p in spec.prices] == ["meterline_standard_base_month", "meterline_standard_base_year"]


def test_two_subscribed_tiers_pricing_a_meter_differently_is_an_error(catalog: CatalogVersion) -> None:
    std = catalog.tiers["standard"]
    rule = std.metrics["api_calls"].model_copy(update={"unit_price": Decimal("0.02")})
    pro = std.model_copy(update={"display_name": "Pro", "metrics": {**std.metrics, "api_calls": rule}})
    with pytest.raises(StripeCatalogError, match="api_calls_overage"):
        desired_catalog(catalog.model_copy(update={"tiers": {**catalog.tiers, "pro": pro}}))


def test_a_changed_price_changes_the_spec(catalog: CatalogVersion) -> None:
    std = catalog.tiers["standard"]
    std = std.model_copy(update={"base_fee": {"month": Decimal("59.99"), "year": Decimal("599.90")}})
    spec = desired_catalog(catalog.model_copy(update={"tiers": {**catalog.tiers, "standard": std}}))
    assert [p.unit_amount_decimal for p in spec.prices[:2]] == ["5999", "59990"]


def test_meter_event_names_and_back() -> None:
    assert meter_event_name("api_calls_overage") == "meterline_api_calls_overage"
    assert meter_event_name("storage_overage") == "meterline_storage_overage"
    assert meter_event_name("premium_feature:deep_research") == "meterline_premium_deep_research"
    for code in ["api_calls_overage", "storage_overage", "premium_feature:voice_synthesis"]:
        assert meter_code(meter_event_name(code)) == code
    for bad in ["seats", "base_fee", "premium_feature:Bad Name", "premium_feature:" + "x" * 100]:
        with pytest.raises(StripeCatalogError):
            meter_event_name(bad)
    with pytest.raises(StripeCatalogError):
        meter_code("api_calls_overage")


def test_meter_values_are_whole_numbers() -> None:
    assert meter_value("api_calls_overage", Decimal(1234)) == 1234
    assert meter_value("premium_feature:deep_research", Decimal(3)) == 3
    # storage: GB-months over the included quantity -> milli-GB-months, half-even
    assert meter_value("storage_overage", Decimal("12.3456")) == 12346
    assert meter_value("storage_overage", Decimal("0.0005")) == 0
    assert meter_value("storage_overage", Decimal("0.0015")) == 2
    with pytest.raises(StripeCatalogError):
        meter_value("storage_overage", Decimal(-1))


def test_cents() -> None:
    assert cents(Decimal("49.99")) == "4999"
    assert cents(Decimal("499.90")) == "49990"
    assert cents(Decimal("10000")) == "1000000"
    assert cents(Decimal("0.10"), 1000) == "0.01"
    assert cents(Decimal("0.000000000001")) == "0.0000000001"
    with pytest.raises(StripeCatalogError):  # more than 12 decimals of a cent
        cents(Decimal("0.01"), 3)


def test_errors_are_sink_errors() -> None:
    assert issubclass(StripeCatalogError, SinkRejected) and issubclass(StripeCatalogError, SinkError)
    assert not StripeCatalogError.retriable


def test_idempotency_keys_follow_the_write() -> None:
    a = idempotency_key("price", None, {"lookup_key": "k", "unit_amount_decimal": Decimal("4999")})
    assert a == idempotency_key("price", None, {"unit_amount_decimal": Decimal("4999"), "lookup_key": "k"})
    assert a != idempotency_key("price", None, {"lookup_key": "k", "unit_amount_decimal": Decimal("5999")})
    assert a != idempotency_key("price", "price_old", {"lookup_key": "k", "unit_amount_decimal": Decimal("4999")})
    assert len(a) <= 255
