"""Invoices of hand-worked scenarios: every amount below is computed by hand in the comment beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides, PriceTier, TieredPrice
from rating.invoice import preview_invoice
from rating.periods import period_containing
from rating.pricing import metric_charge, tiered_charge
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

D = Decimal
CATALOG = load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))
ANCHOR = date(2026, 1, 1)
NOV = period_containing(ANCHOR, datetime(2026, 11, 10, tzinfo=UTC))  # 2026-11-01 .. 2026-12-01 (30 days)


def sub(
    tier: str,
    *,
    interval: str = "month",
    at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    version: int = 1,
    anchor: date = ANCHOR,
    contract: ContractOverrides | None = None,
    kind: str = "org",
) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id="acct",
        account_kind=kind,
        tier=tier,
        interval=interval,
        anchor=anchor,
        effective_from=at,
        version=version,
        contract=contract,
    )


def invoice(versions: list[SubscriptionVersion], *usage: PeriodUsage, period=NOV):  # type: ignore[no-untyped-def]
    return preview_invoice(SubscriptionHistory("acct", versions), list(usage), period, CATALOG)


def lines(inv) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {ln["code"]: ln["amount"] for ln in inv.to_document()["lines"]}


def test_standard_api_overage() -> None:
    # 123,456 calls - 100,000 included = 23,456 x $0.01 = $234.56; plus $49.99 base.
    inv = invoice([sub("standard")], PeriodUsage(api_calls=D(123_456)))
    assert lines(inv) == {"base_fee": "49.99", "api_calls_overage": "234.56"}
    assert inv.to_document()["total"] == "284.55"


def test_enterprise_seats_volume_pricing_and_annual_platform_fee() -> None:
    # 150 seats reach the 101-500 tier: all 150 x $40 = $6,000. Platform fee $10,000 once a year,
    # charged in the period starting in the anchor month (January), so not in November.
    inv = invoice([sub("enterprise")], PeriodUsage(seats=150, api_calls=D(900_000)))
    assert lines(inv) == {"seats": "6000.00"}
    jan = period_containing(ANCHOR, datetime(2026, 1, 5, tzinfo=UTC))
    inv = invoice([sub("enterprise")], PeriodUsage(seats=2001), period=jan)
    # 2,001 seats: all at $25 = $50,025; platform fee $10,000.
    assert lines(inv) == {"platform_fee": "10000.00", "seats": "50025.00"}


def test_free_tier_caps_and_entitlements_are_flagged_never_billed() -> None:
    inv = invoice(
        [sub("free", kind="user")],
        PeriodUsage(
            api_calls=D(12_000), ai_requests=D(40), storage_gb_avg=D(7), premium_features={"deep_research": D(2)}
        ),
    )
    assert lines(inv) == {}
    assert inv.to_document()["total"] == "0.00"
    flags = {(f.metric, f.reason): f.quantity for f in inv.flags}
    assert flags == {
        ("api_calls", "hard_cap"): D(2000),
        ("ai_requests", "not_entitled"): D(40),
        ("storage_gb", "hard_cap"): D(2),
        ("premium_feature:deep_research", "not_entitled"): D(2),
    }


def test_standard_storage_time_weighted_average() -> None:
    # 40 GB for half the month then 80 GB: average 60 GB; 10 GB over 50 included x $0.10 = $1.00.
    inv = invoice([sub("standard")], PeriodUsage(storage_gb_avg=(D(40) + D(80)) / 2))
    assert lines(inv)["storage_overage"] == "1.00"


def test_premium_features_per_use() -> None:
    # 3 deep research x $0.50 + 7 document analysis x $0.05 = $1.50 + $0.35.
    inv = invoice([sub("standard")], PeriodUsage(premium_features={"deep_research": D(3), "document_analysis": D(7)}))
    assert lines(inv) == {
        "base_fee": "49.99",
        "premium_feature:deep_research": "1.50",
        "premium_feature:document_analysis": "0.35",
    }


def test_annual_standard_base_fee_once_a_year() -> None:
    jan = period_containing(ANCHOR, datetime(2026, 1, 5, tzinfo=UTC))
    assert lines(invoice([sub("standard", interval="year")], PeriodUsage(), period=jan)) == {"base_fee": "499.90"}
    assert lines(invoice([sub("standard", interval="year")], PeriodUsage())) == {}


def test_mid_period_upgrade_free_to_standard_prorates_and_keeps_counters() -> None:
    # Upgrade at 2026-11-16 00:00: 15 of 30 days left -> (49.99 - 0) x 0.5 = 24.995 -> $25.00 (half-even).
    # Usage: 8,000 calls under free, then 100,000 under standard: the period's 108,000 calls consume
    # the standard quota in time order: 8,000 over the 100,000 included x $0.01 = $80.00.
    up = datetime(2026, 11, 16, tzinfo=UTC)
    inv = invoice(
        [sub("free"), sub("standard", at=up, version=2)],
        PeriodUsage(api_calls=D(8_000)),
        PeriodUsage(api_calls=D(100_000)),
    )
    assert lines(inv) == {"base_fee_proration": "25.00", "api_calls_overage": "80.00"}


def test_usage_before_upgrade_is_rated_under_the_old_tier() -> None:
    # 12,000 calls under free (2,000 past the cap: flagged, not billed), then nothing more.
    up = datetime(2026, 11, 20, tzinfo=UTC)
    inv = invoice([sub("free"), sub("standard", at=up, version=2)], PeriodUsage(api_calls=D(12_000)), PeriodUsage())
    assert "api_calls_overage" not in lines(inv)
    assert [(f.metric, f.reason, f.quantity) for f in inv.flags] == [("api_calls", "hard_cap", D(2000))]


def test_enterprise_contract_overrides_seat_price_and_terms() -> None:
    contract = ContractOverrides(
        seats=TieredPrice(mode="volume", tiers=(PriceTier(unit_amount=D("35")),)),
        platform_fee={"year": D("8000")},
        addons={"advanced_analytics": D("1500")},
    )
    jan = period_containing(ANCHOR, datetime(2026, 1, 5, tzinfo=UTC))
    inv = invoice(
        [sub("enterprise", contract=contract)], PeriodUsage(seats=150, addons={"advanced_analytics": D(1)}), period=jan
    )
    # 150 x $35 = $5,250; platform fee $8,000; advanced analytics $1,500 by contract.
    assert lines(inv) == {"platform_fee": "8000.00", "seats": "5250.00", "addon:advanced_analytics": "1500.00"}


def test_lines_round_half_even_once() -> None:
    # 0.125 -> 0.12 (half-even), 0.135 -> 0.14; rounding happens at the line, not per unit.
    assert str(metric_charge(CATALOG.tiers["standard"].metrics["api_calls"], D("100012.5")).amount) == "0.125"
    inv = invoice([sub("standard")], PeriodUsage(api_calls=D("100012.5")))
    assert lines(inv)["api_calls_overage"] == "0.12"


def test_graduated_tiers() -> None:
    price = TieredPrice(
        mode="graduated",
        tiers=(
            PriceTier(up_to=D(100), unit_amount=D(50)),
            PriceTier(up_to=D(500), unit_amount=D(40)),
            PriceTier(unit_amount=D(25)),
        ),
    )
    # 150: 100 x 50 + 50 x 40 = 7,000.
    assert tiered_charge(price, D(150)).amount == D(7000)
    assert tiered_charge(price, D(600)).amount == D(100 * 50 + 400 * 40 + 100 * 25)


@pytest.mark.parametrize("tier", ["free", "standard", "enterprise"])
@given(a=st.integers(0, 3_000_000), b=st.integers(0, 3_000_000))
def test_more_usage_never_costs_less_and_never_negative(tier: str, a: int, b: int) -> None:
    rule = CATALOG.tiers[tier].metrics["api_calls"]
    lo, hi = sorted((a, b))
    assert D(0) <= metric_charge(rule, D(lo)).amount <= metric_charge(rule, D(hi)).amount


@given(st.lists(st.integers(0, 60_000), min_size=1, max_size=6))
def test_splitting_a_period_into_segments_of_one_tier_changes_nothing(parts: list[int]) -> None:
    # The same tier re-published (new versions, same terms) at several instants: same invoice.
    whole = invoice([sub("standard")], PeriodUsage(api_calls=D(sum(parts))))
    versions = [sub("standard")] + [
        sub("standard", at=datetime(2026, 11, 2 + i, tzinfo=UTC), version=2 + i) for i in range(len(parts) - 1)
    ]
    split = invoice(versions, *[PeriodUsage(api_calls=D(p)) for p in parts])
    assert whole.to_document()["total"] == split.to_document()["total"]
