from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rating.catalog.loader import CatalogError, load_catalog, parse_catalog

GOOD = """
[[versions]]
version = "v1"
effective_from = "2026-01-01T00:00:00Z"
  [versions.tiers.basic]
  display_name = "Basic"
  rate_limit_per_minute = 10
  payment_terms = { collection = "none" }
    [versions.tiers.basic.metrics.api_calls]
    included = "5"
    unit_price = "0.02"
"""


def test_default_catalog_holds_the_design_numbers() -> None:
    v = load_catalog().at(datetime(2026, 6, 1, tzinfo=UTC))
    std = v.tiers["standard"]
    assert str(std.base_fee["month"]) == "49.99" and str(std.base_fee["year"]) == "499.90"
    assert str(std.metrics["api_calls"].included) == "100000" and str(std.metrics["api_calls"].unit_price) == "0.01"
    assert [str(t.unit_amount) for t in v.tiers["enterprise"].seats.tiers] == ["50", "40", "30", "25"]  # type: ignore[union-attr]
    assert v.tiers["free"].metrics["ai_requests"].entitled is False
    assert {t: v.tiers[t].rate_limit_per_minute for t in v.tiers} == {"free": 60, "standard": 600, "enterprise": 6000}


def test_version_in_effect_is_chosen_by_time() -> None:
    text = GOOD + GOOD.replace('"v1"', '"v2"').replace("2026-01-01", "2026-07-01").replace('"0.02"', '"0.03"')
    cat = parse_catalog(text, "two.toml")
    assert cat.at(datetime(2026, 6, 30, 23, 59, tzinfo=UTC)).version == "v1"
    assert cat.at(datetime(2026, 7, 1, tzinfo=UTC)).version == "v2"
    with pytest.raises(CatalogError, match="no catalog version in effect"):
        cat.at(datetime(2025, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "bad.toml: not valid TOML"),
        ("x = 1", "bad.toml: key 'versions'"),
        (
            GOOD.replace('"0.02"', "0.02"),
            "bad.toml: key 'versions.0.tiers.basic.metrics.api_calls.unit_price': Value error, write amounts",
        ),
        (GOOD.replace('"0.02"', '"-1"'), "unit_price': Value error, must be a finite amount >= 0"),
        (GOOD.replace("rate_limit_per_minute = 10", ""), "basic.rate_limit_per_minute': Field required"),
        (GOOD.replace('included = "5"', 'includd = "5"'), "api_calls.includd': Extra inputs are not permitted"),
    ],
)
def test_malformed_catalog_names_file_key_and_problem(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, "bad.toml")
    assert message in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")
