"""The AI mix for the platform's analysts, worked by hand from the catalog's price table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.forecast.ai_mix import ModelUse, cheaper_mix, margin

TABLE = load_catalog().at(datetime(2026, 6, 1, tzinfo=UTC)).ai_costs


def test_the_same_tokens_on_the_cheapest_priced_model() -> None:
    # 1M input and 1M output tokens on gpt-4o: 2.50 + 10.00 = $12.50; on gpt-4o-mini 0.15 + 0.60 = $0.75.
    used = ModelUse("openai/gpt-4o", Decimal(2000), Decimal(1_000_000), Decimal(1_000_000))
    (option,) = cheaper_mix([used], TABLE)
    assert (option.cost, option.cheapest_model, option.cheapest_cost) == (
        Decimal("12.50"),
        "openai/gpt-4o-mini",
        Decimal("0.75"),
    )
    assert option.saving == Decimal("11.75")
    assert margin(Decimal("49.99"), [option]) == Decimal("37.49")


def test_the_cheapest_model_and_an_unpriced_one_save_nothing() -> None:
    cheap = ModelUse("openai/gpt-4o-mini", Decimal(10), Decimal(1_000_000), Decimal(0))
    unknown = ModelUse("acme/own", Decimal(10), Decimal(1_000_000), Decimal(0))
    options = cheaper_mix([cheap, unknown], TABLE)
    assert [(o.model, o.cheapest_model, o.saving) for o in options] == [
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini", Decimal(0)),
        ("acme/own", "acme/own", Decimal(0)),
    ]
