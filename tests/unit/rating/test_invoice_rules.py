"""Fee, proration, cancellation, seat, storage and correction rules of the invoice, worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.aggregation import GaugeState, Sample
from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides
from rating.invoice import (
    Correction,
    Invoice,
    InvoiceError,
    InvoiceLine,
    LineTotal,
    billing_segments,
    carry_negative,
    preview_invoice,
    totals_by_code,
)
from rating.periods import contract_year_containing, fraction_left, period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion, rated_tier
from rating.usage import PeriodUsage

D = Decimal
CATALOG = load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))
ANCHOR = date(2026, 1, 1)
NOV = period_containing(ANCHOR, datetime(2026, 11, 10, tzinfo=UTC))  # 2026-11-01 .. 2026-12-01, 30 days
JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
NOV16 = datetime(2026, 11, 16, tzinfo=UTC)  # 15 of 30 days left; 46 of 365 days left of the contract year


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def sub(
    tier: str,
    at: datetime = JAN1,
    version: int = 1,
    *,
    interval: str = "month",
    status: str = "active",
    anchor: date = ANCHOR,
    contract: ContractOverrides | None = None,
) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id="acct",
        account_kind="org",
        tier=tier,
        status=status,
        interval=interval,
        anchor=anchor,
        effective_from=at,
        version=version,
        contract=contract,
    )


def invoice(versions: list[SubscriptionVersion], *usage: PeriodUsage, period: Any = NOV, **kw: Any) -> Invoice:
    return preview_invoice(SubscriptionHistory("acct", versions), list(usage), period, CATALOG, **kw)


def lines(inv: Invoice) -> dict[str, str]:
    return {ln["code"]: ln["amount"] for ln in inv.to_document()["lines"]}


def test_upgrade_standard_to_enterprise_credits_base_and_charges_platform_fee_pro_rata() -> None:
    # Base $49.99 in advance; credit 49.99 x 15/30 = 24.995 -> -25.00 (half-even);
    # platform fee 10,000 x 46/365 (Nov 16 -> Jan 1 anniversary) = 1,260.2739... -> 1,260.27.
    inv = invoice([sub("standard"), sub("enterprise", NOV16, 2)], PeriodUsage(), PeriodUsage())
    assert lines(inv) == {"base_fee": "49.99", "base_fee_proration": "-25.00", "platform_fee": "1260.27"}
    assert inv.to_document()["total"] == "1285.26"  # 49.99 - 25.00 + 1,260.27


def test_a_fee_only_credited_says_the_fraction_of_its_own_term_left() -> None:
    # Standard -> enterprise on Nov 16: the base fee is credited for 15/30 = 0.5 of the period (no new base fee).
    inv = invoice([sub("standard"), sub("enterprise", NOV16, 2)], PeriodUsage(), PeriodUsage())
    credit = next(ln for ln in inv.lines if ln.code == "base_fee_proration")
    assert (credit.quantity, credit.unit_price) == (D("0.5"), D("-49.99"))
    assert credit.description.endswith("base fee, 0.5000 of its term left")


def test_monthly_to_annual_switch_credits_the_month_and_charges_the_year_left() -> None:
    # Credit 49.99 x 15/30 = 24.995; charge 499.90 x 46/365 = 63.00109...; net 38.00609... -> 38.01.
    inv = invoice([sub("standard"), sub("standard", NOV16, 2, interval="year")], PeriodUsage(), PeriodUsage())
    assert lines(inv) == {"base_fee": "49.99", "base_fee_proration": "38.01"}


def test_free_to_annual_standard_charges_the_contract_year_left_then_full_at_the_anniversary() -> None:
    # 499.90 x 46/365 = 63.00109... -> 63.00; January 2027 starts the next contract year: 499.90.
    versions = [sub("free"), sub("standard", NOV16, 2, interval="year")]
    assert lines(invoice(versions, PeriodUsage(), PeriodUsage())) == {"base_fee_proration": "63.00"}
    jan = period_containing(ANCHOR, utc(2027, 1, 10))
    assert lines(invoice(versions, PeriodUsage(), period=jan)) == {"base_fee": "499.90"}


def test_subscription_starting_inside_the_period_pays_the_time_left() -> None:
    # Standard from Nov 16 with no earlier version: 49.99 x 15/30 = 24.995 -> 25.00.
    # Two stretches: the default tier until Nov 16, then standard.
    inv = invoice([sub("standard", NOV16)], PeriodUsage(), PeriodUsage())
    assert lines(inv) == {"base_fee_proration": "25.00"}
    # a first subscription is said as a start, not a change
    [line] = inv.lines
    assert line.description == "Start of Standard on 2026-11-16: base fee, 0.5000 of its term left"


def test_upgrade_in_a_31_day_period_anchored_on_the_31st() -> None:
    anchor = date(2026, 1, 31)
    period = period_containing(anchor, utc(2026, 3, 10))  # 2026-02-28 .. 2026-03-31: 31 days
    assert (period.start, period.end) == (utc(2026, 2, 28), utc(2026, 3, 31))
    # Upgrade Mar 16: 15 of 31 days left; 49.99 x 15/31 = 24.18870... -> 24.19.
    versions = [sub("free", anchor=anchor), sub("standard", utc(2026, 3, 16), 2, anchor=anchor)]
    assert lines(invoice(versions, PeriodUsage(), PeriodUsage(), period=period)) == {"base_fee_proration": "24.19"}


def test_downgrade_inside_the_period_credits_nothing_and_rates_later_usage_under_the_new_tier() -> None:
    # Base $49.99 in advance, no credit. 3,000 calls after the downgrade to free, 8,000 before:
    # the period's 11,000 calls pass free's 10,000 cap by 1,000 -> flagged, not billed.
    inv = invoice(
        [sub("standard"), sub("free", NOV16, 2)], PeriodUsage(api_calls=D(8_000)), PeriodUsage(api_calls=D(3_000))
    )
    assert lines(inv) == {"base_fee": "49.99"}
    assert [(f.metric, f.reason, f.quantity) for f in inv.flags] == [("api_calls", "hard_cap", D(1_000))]


def test_canceled_subscription_pays_no_fee_and_is_rated_as_free() -> None:
    inv = invoice([sub("standard", status="canceled")], PeriodUsage(api_calls=D(12_000), ai_requests=D(5)))
    assert lines(inv) == {}
    assert {(f.metric, f.reason) for f in inv.flags} == {("api_calls", "hard_cap"), ("ai_requests", "not_entitled")}


def test_a_trial_pays_no_fee_and_converting_mid_period_pays_the_time_left() -> None:
    # Trialing all of November: no fee, usage rated under standard (5,000 calls over: $50.00).
    trial = sub("standard", status="trialing")
    assert lines(invoice([trial], PeriodUsage(api_calls=D(105_000)))) == {"api_calls_overage": "50.00"}
    # Converts on Nov 16: 49.99 x 15/30 = 24.995 -> 25.00 (half-even), like a subscription starting then.
    converted = invoice([trial, sub("standard", NOV16, 2)], PeriodUsage(), PeriodUsage())
    assert lines(converted) == {"base_fee_proration": "25.00"}


def test_no_subscription_is_the_free_tier() -> None:
    inv = invoice([], PeriodUsage(api_calls=D(5_000)))
    assert inv.to_document()["lines"] == [] and inv.to_document()["total"] == "0.00"
    with pytest.raises(InvoiceError, match="2 usage parts"):
        invoice([], PeriodUsage(), PeriodUsage())


def test_storage_stretches_are_weighted_by_their_length() -> None:
    # Same terms re-published on Nov 16: 40 GB average for 15 days, 80 GB for 15 days -> 60 GB;
    # 10 GB over the 50 included x $0.10 = $1.00.
    inv = invoice(
        [sub("standard"), sub("standard", NOV16, 2)],
        PeriodUsage(storage_gb_avg=D(40)),
        PeriodUsage(storage_gb_avg=D(80)),
    )
    assert lines(inv) == {"base_fee": "49.99", "storage_overage": "1.00"}


def test_seats_are_distinct_users_across_stretches() -> None:
    # 100 users before a contract amendment, 100 after, 50 in both: 150 distinct x $40 = $6,000.
    first = frozenset(f"u{i}" for i in range(100))
    second = frozenset(f"u{i}" for i in range(50, 150))
    inv = invoice(
        [sub("enterprise"), sub("enterprise", NOV16, 2)], PeriodUsage(seat_users=first), PeriodUsage(seat_users=second)
    )
    assert lines(inv) == {"seats": "6000.00"}
    with pytest.raises(InvoiceError, match="seat_users"):
        invoice([sub("enterprise"), sub("enterprise", NOV16, 2)], PeriodUsage(seats=100), PeriodUsage(seats=100))


def test_seats_count_only_under_a_seat_priced_tier() -> None:
    # Standard -> enterprise on Nov 16: the 30 users seen under standard are not enterprise seats; 120 are.
    before = frozenset(f"s{i}" for i in range(30))
    after = frozenset(f"e{i}" for i in range(120))
    inv = invoice(
        [sub("standard"), sub("enterprise", NOV16, 2)], PeriodUsage(seat_users=before), PeriodUsage(seat_users=after)
    )
    assert lines(inv)["seats"] == "4800.00"  # 120 x $40


def test_corrections_are_lines_of_a_later_period() -> None:
    late = Correction("api_calls_2026-10", "Late API calls of 2026-10", D("1.235"), D("123.5"))
    credit = Correction("storage_2026-10", "Storage recomputed for 2026-10", D("-0.50"))
    inv = invoice([sub("standard")], PeriodUsage(), corrections=[late, credit])
    # 1.235 -> 1.24 (half-even: 3 is odd, so up); total 49.99 + 1.24 - 0.50 = 50.73.
    assert lines(inv) == {
        "base_fee": "49.99",
        "correction:api_calls_2026-10": "1.24",
        "correction:storage_2026-10": "-0.50",
    }
    assert inv.to_document()["total"] == "50.73"


def test_a_final_invoice_below_zero_carries_the_rest_to_the_next() -> None:
    # $49.99 base and a -$960.00 correction of an earlier period (100 -> 101 seats): -910.01, so 910.01 is carried
    # and the invoice owes $0.00; one at or above zero is left as it is.
    seats = Correction("seats", "101 seats cost less than 100", D(-960), D(1))
    inv, carried = carry_negative(invoice([sub("standard")], PeriodUsage(), corrections=[seats]))
    assert carried == D("-910.01") and inv.total == 0
    assert lines(inv) == {"base_fee": "49.99", "correction:seats": "-960.00", "carried_forward": "910.01"}
    plain = invoice([sub("standard")], PeriodUsage())
    assert carry_negative(plain) == (plain, D(0))


def test_addons_by_quote_need_a_contract_price() -> None:
    jan = period_containing(ANCHOR, utc(2026, 1, 5))
    with pytest.raises(InvoiceError, match="by quote"):
        invoice([sub("enterprise")], PeriodUsage(addons={"on_premise": D(1)}), period=jan)
    contract = ContractOverrides(addons={"on_premise": D("250000"), "advanced_analytics": D(0)})
    inv = invoice(
        [sub("enterprise", contract=contract)],
        PeriodUsage(addons={"on_premise": D(1), "advanced_analytics": D(1), "custom_development": D("12.5")}),
        period=jan,
    )
    # 12.5 hours x $150 = $1,875; advanced analytics waived by contract ($0, not the catalog's $2,000).
    assert lines(inv) == {
        "platform_fee": "10000.00",
        "addon:advanced_analytics": "0.00",
        "addon:custom_development": "1875.00",
        "addon:on_premise": "250000.00",
    }


def test_annual_fee_in_the_period_starting_on_the_contract_anniversary() -> None:
    anchor = date(2026, 6, 15)
    versions = [sub("enterprise", utc(2026, 6, 15), anchor=anchor)]
    jun = period_containing(anchor, utc(2027, 6, 20))
    jul = period_containing(anchor, utc(2027, 7, 20))
    assert lines(invoice(versions, PeriodUsage(), period=jun)) == {"platform_fee": "10000.00"}
    assert lines(invoice(versions, PeriodUsage(), period=jul)) == {}


def test_contract_year_and_fraction_left() -> None:
    leap = contract_year_containing(date(2024, 2, 29), utc(2025, 3, 1))
    assert (leap.start, leap.end) == (utc(2025, 2, 28), utc(2026, 2, 28))
    year = contract_year_containing(ANCHOR, NOV16)
    assert fraction_left(year, NOV16) == D(46) / D(365)
    assert fraction_left(NOV, utc(2020, 1, 1)) == 1 and fraction_left(NOV, utc(2030, 1, 1)) == 0


def test_gauge_merge_commutes_when_one_side_carries_the_previous_value() -> None:
    opened = GaugeState(carried_in=D(40))
    batch = GaugeState().add([Sample(10, "x", D(80))])
    # 40 GB for the first 10 ms, 80 GB for the last 10 ms: average 60 whichever side merges first.
    assert opened.merge(batch).time_weighted_average(0, 20) == batch.merge(opened).time_weighted_average(0, 20) == 60


@given(
    before=st.integers(0, 200_000),
    after=st.integers(0, 200_000),
    extra=st.integers(0, 50_000),
    tiers=st.sampled_from([("free", "standard"), ("standard", "enterprise"), ("standard", "free")]),
)
def test_invoice_total_never_falls_with_more_usage(before: int, after: int, extra: int, tiers: tuple[str, str]) -> None:
    versions = [sub(tiers[0]), sub(tiers[1], NOV16, 2)]

    def total(b: int, a: int) -> Decimal:
        return D(invoice(versions, PeriodUsage(api_calls=D(b)), PeriodUsage(api_calls=D(a))).to_document()["total"])

    base = total(before, after)
    assert base >= 0
    assert total(before + extra, after) >= base and total(before, after + extra) >= base


def test_rated_tier_and_billing_segments_shared_with_the_live_stage() -> None:
    assert rated_tier(sub("standard", status="canceled"), CATALOG) == CATALOG.tiers["free"]
    assert rated_tier(sub("standard", status="past_due"), CATALOG) == CATALOG.tiers["standard"]
    [only] = billing_segments(SubscriptionHistory("acct"), NOV, CATALOG)
    assert (only.start, only.end, only.version.tier) == (NOV.start, NOV.end, "free")
    two = billing_segments(SubscriptionHistory("acct", [sub("free"), sub("standard", NOV16, 2)]), NOV, CATALOG)
    assert [(s.start, s.version.tier) for s in two] == [(NOV.start, "free"), (NOV16, "standard")]


def test_totals_by_code_sums_each_code_and_leaves_corrections_tax_and_credits_out() -> None:
    # Two segments' api_calls_overage lines: 1500 + 2500 calls, $15.00 + $25.00; a correction line is not counted,
    # nor the tax and credit lines: the invoice carrying a correction taxes it and draws credits on it itself.
    lines = [
        InvoiceLine("api_calls_overage", "a", D(1500), D("0.01"), D("15.00")),
        InvoiceLine("seats", "b", D(3), D(40), D("120.00")),
        InvoiceLine("api_calls_overage", "c", D(2500), D("0.01"), D("25.00")),
        InvoiceLine("correction:api_calls_overage", "d", D(100), D("0.01"), D("1.00")),
        InvoiceLine("credit:cg_1", "e", D(1), D("-100.00"), D("-100.00")),
        InvoiceLine("tax:0.19", "f", D("60.00"), D("0.19"), D("11.40")),
    ]
    assert totals_by_code(lines) == {
        "api_calls_overage": LineTotal(D(4000), D("40.00")),
        "seats": LineTotal(D(3), D("120.00")),
    }
