"""Hand-worked recommendations: each saving equals the difference of two invoices of the rating code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides
from rating.forecast.recommendations import (
    annual_instead_of_monthly,
    change_tier,
    downgrade_when_quota_unused,
    plan_total,
    premium_contract,
    unused_seats,
    worth_showing,
)
from rating.invoice import preview_invoice
from rating.periods import Period, next_period, period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

START = datetime(2026, 3, 1, tzinfo=UTC)
ANCHOR = date(2026, 3, 1)
CATALOG = load_catalog().at(START)


def _version(tier: str, kind: str = "user", contract: ContractOverrides | None = None) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id="acct-1",
        account_kind=kind,  # type: ignore[arg-type]
        tier=tier,
        anchor=ANCHOR,
        effective_from=START,
        version=1,
        contract=contract,
    )


def _periods(n: int, usage: PeriodUsage) -> list[tuple[Period, PeriodUsage]]:
    p = period_containing(ANCHOR, START)
    out = []
    for _ in range(n):
        out.append((p, usage))
        p = next_period(ANCHOR, p)
    return out


def _invoice_total(v: SubscriptionVersion, usage: list[tuple[Period, PeriodUsage]]) -> Decimal:
    h = SubscriptionHistory(v.account_id, [v])
    return sum((preview_invoice(h, [u], p, CATALOG).total for p, u in usage), Decimal(0))


def test_annual_standard_saves_twelve_monthly_fees_minus_the_yearly_fee() -> None:
    year = _periods(12, PeriodUsage(api_calls=Decimal(50_000)))
    rec = annual_instead_of_monthly(_version("standard"), year, CATALOG)
    assert rec is not None
    assert rec.current_total == Decimal("599.88")  # 12 x 49.99
    assert rec.alternative_total == Decimal("499.90")
    assert rec.saving == Decimal("99.98")
    assert rec.current_total == _invoice_total(_version("standard"), year)


def test_upgrade_to_enterprise_pays_when_overage_passes_its_fees() -> None:
    # 20M calls and 10 seats a month. Standard: 49.99 + 19.9M x $0.01 = 199,049.99 a month.
    # Enterprise: the yearly platform fee 10,000 once, 10 seats x $50 and 19M x $0.01 = 190,500 a month.
    year = _periods(12, PeriodUsage(api_calls=Decimal(20_000_000), seats=10))
    rec = change_tier(_version("standard", "org"), "enterprise", year, CATALOG, kind="upgrade")
    assert rec is not None
    assert rec.current_total == Decimal("2388599.88")
    assert rec.alternative_total == Decimal("2296000.00")
    assert rec.saving == Decimal("92599.88")
    assert rec.alternative_total == _invoice_total(_version("enterprise", "org"), year)
    # At 150,000 calls the upgrade costs more: a negative saving, never shown.
    small = _periods(12, PeriodUsage(api_calls=Decimal(150_000), seats=10))
    costly = change_tier(_version("standard", "org"), "enterprise", small, CATALOG, kind="upgrade")
    assert costly is not None and costly.saving < 0
    assert worth_showing([costly, rec], Decimal(10)) == [rec]


def test_an_upgrade_over_recent_periods_pays_the_annual_platform_fee_in_them() -> None:
    # Three periods in the middle of the contract year (June to August): moving to enterprise at their start
    # would have charged its yearly platform fee then. Without it enterprise read as $0 for an idle account.
    recent = _periods(6, PeriodUsage(api_calls=Decimal(100)))[3:]
    rec = change_tier(_version("standard", "org"), "enterprise", recent, CATALOG, kind="upgrade")
    assert rec is not None
    assert rec.current_total == Decimal("149.97")  # 3 x 49.99
    assert rec.alternative_total == Decimal("10000.00")  # the platform fee; no seat had usage
    assert rec.saving < 0 and worth_showing([rec], Decimal(10)) == []


def test_downgrade_after_three_periods_under_the_free_quota() -> None:
    last = _periods(3, PeriodUsage(api_calls=Decimal(5_000)))
    rec = downgrade_when_quota_unused(_version("standard"), last, CATALOG, "free")
    assert rec is not None and rec.saving == Decimal("149.97")  # 3 x 49.99 against 3 x 0
    assert downgrade_when_quota_unused(_version("standard"), last[:2], CATALOG, "free") is None
    # Usage the free tier caps or does not allow: not the same service, no recommendation.
    over = _periods(3, PeriodUsage(api_calls=Decimal(12_000)))
    assert downgrade_when_quota_unused(_version("standard"), over, CATALOG, "free") is None
    premium = _periods(3, PeriodUsage(api_calls=Decimal(10), premium_features={"deep_research": Decimal(1)}))
    assert downgrade_when_quota_unused(_version("standard"), premium, CATALOG, "free") is None


def test_unused_contract_seats() -> None:
    contract = ContractOverrides(minimum_seats=200)
    usage = _periods(2, PeriodUsage(api_calls=Decimal(1000), seats=120))
    v = _version("enterprise", "org", contract)
    rec = unused_seats(v, usage, CATALOG)
    assert rec is not None
    # 200 seats at $40 against 120 at $40, two periods (the platform fee is the same on both sides).
    assert rec.saving == Decimal("6400.00")
    assert rec.current_total == plan_total(v, usage, CATALOG) == _invoice_total(v, usage)
    assert unused_seats(_version("enterprise", "org", ContractOverrides(minimum_seats=100)), usage, CATALOG) is None


def test_worth_showing_respects_the_minimum() -> None:
    year = _periods(12, PeriodUsage(api_calls=Decimal(50_000)))
    rec = annual_instead_of_monthly(_version("standard"), year, CATALOG)
    assert worth_showing([rec, None], Decimal("100")) == []
    assert worth_showing([rec], Decimal("10")) == [rec]


def test_a_contract_price_for_heavily_used_premium_features() -> None:
    # 10,000 deep research uses a month at $0.50 on standard: $5,000; at a contract price 20 % off ($0.40),
    # $4,000: $1,000 a month saved, $3,000 over three periods. Features not used keep their list price.
    usage = _periods(3, PeriodUsage(api_calls=Decimal(50_000), premium_features={"deep_research": Decimal(10_000)}))
    rec = premium_contract(_version("standard"), usage, CATALOG)
    assert rec is not None and rec.kind == "contract"
    assert rec.current_total == Decimal("15149.97")  # 3 x (49.99 + 5,000)
    assert rec.alternative_total == Decimal("12149.97")
    assert rec.saving == Decimal("3000.00")
    contract = ContractOverrides.model_validate(
        {
            "metrics": {
                "premium_feature": {
                    "aggregation": "count",
                    "per_feature": {"deep_research": "0.40", "document_analysis": "0.05", "voice_synthesis": "0.20"},
                }
            }
        }
    )
    assert rec.alternative_total == _invoice_total(_version("standard", contract=contract), usage)
    assert "deep research" in rec.title
    # No premium feature used, or a tier without them: nothing to offer.
    assert premium_contract(_version("standard"), _periods(3, PeriodUsage(api_calls=Decimal(1))), CATALOG) is None
    assert premium_contract(_version("free"), usage, CATALOG) is None
