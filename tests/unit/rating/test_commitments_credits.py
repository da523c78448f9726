"""Commitments and credit grants on the invoice (rating/credits.py), worked by hand from the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.catalog.model import Commitment, ContractOverrides
from rating.credits import CreditGrant, crossed_low, draw
from rating.invoice import Correction, Invoice, preview_invoice
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

ANCHOR = date(2026, 1, 1)
JUNE = period_containing(ANCHOR, datetime(2026, 6, 15, tzinfo=UTC))
DECEMBER = period_containing(ANCHOR, datetime(2026, 12, 15, tzinfo=UTC))


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def invoice(contract: ContractOverrides, users: int, period: object = JUNE, **kw: object) -> Invoice:
    """An enterprise month: the contract replaces the platform fee with $0 so only seats are charged
    (volume seats: 1-100 at $50, 101-500 at $40)."""
    version = SubscriptionVersion(
        account_id="org_1",
        account_kind="org",
        tier="enterprise",
        anchor=ANCHOR,
        effective_from=at(1),
        version=1,
        contract=contract.model_copy(update={"platform_fee": {"year": Decimal(0)}}),
    )
    usage = PeriodUsage(seat_users=frozenset(f"u{i}" for i in range(users)))
    return preview_invoice(
        SubscriptionHistory("org_1", [version]),
        [usage],
        period,
        load_catalog().at(at(1)),
        **kw,  # type: ignore[arg-type]
    )


def lines(inv: Invoice) -> dict[str, Decimal]:
    return {ln.code: ln.amount for ln in inv.lines}


def test_a_monthly_commitment_trues_up_the_shortfall() -> None:
    # 20 seats x $50 = $1,000 against a $2,500 monthly commitment: true-up $1,500, total $2,500.
    inv = invoice(ContractOverrides(commitment=Commitment(amount=Decimal(2500))), 20)
    assert lines(inv) == {"seats": Decimal("1000.00"), "commitment_true_up": Decimal("1500.00")}
    assert inv.total == Decimal(2500)
    # 60 seats = $3,000: above the commitment, no true-up.
    assert "commitment_true_up" not in lines(
        invoice(ContractOverrides(commitment=Commitment(amount=Decimal(2500))), 60)
    )


def test_a_monthly_commitment_counts_the_periods_own_charges_not_corrections_of_another() -> None:
    """A late $10.00 of May's usage comes to June as a correction. June: 20 seats = $1,000 against $2,500: the
    true-up is still $1,500 and the correction is billed on top: $2,510.00. (Had May fallen short too, its
    true-up would come down by the same $10 as a correction line of its own: the two cancel.) Counting the
    correction as June's would true up $1,490 and the late usage would never be billed."""
    commitment = ContractOverrides(commitment=Commitment(amount=Decimal(2500)))
    late = Correction("premium_feature:deep_research", "Correction of 2026-05", Decimal(10), Decimal(20))
    inv = invoice(commitment, 20, corrections=[late])
    assert lines(inv) == {
        "seats": Decimal("1000.00"),
        "correction:premium_feature:deep_research": Decimal("10.00"),
        "commitment_true_up": Decimal("1500.00"),
    }
    assert inv.total == Decimal("2510.00")
    # May short as well: its true-up's correction (-$10) cancels the usage's (+$10): June bills $2,500.
    back = Correction("commitment_true_up", "Correction of 2026-05", Decimal(-10))
    assert invoice(commitment, 20, corrections=[late, back]).total == Decimal("2500.00")


def test_a_yearly_commitment_counts_corrections_of_the_years_earlier_periods() -> None:
    # December, $25,000 charged earlier in the year; 20 seats = $1,000 and a $10 correction of November's usage:
    # the year's charges are $26,010 against $30,000 → $3,990 short. A $7 correction of December 2025 (the year
    # before; that year's own true-up, if any, is corrected with it) is billed but not counted: still $3,990.
    contract = ContractOverrides(commitment=Commitment(amount=Decimal(30000), per="contract_year"))
    late = Correction("api_calls_overage", "Correction of 2026-11", Decimal(10), Decimal(1000), "2026-11")
    last_year = Correction("api_calls_overage", "Correction of 2025-12", Decimal(7), Decimal(700), "2025-12")
    dec = invoice(contract, 20, DECEMBER, charged_earlier_in_year=Decimal(25000), corrections=[late, last_year])
    assert lines(dec)["commitment_true_up"] == Decimal("3990.00")
    assert dec.total == Decimal("5007.00")  # 1,000 + 10 + 7 + 3,990 (the $25,000 were earlier invoices)


def test_a_yearly_commitment_trues_up_on_the_years_last_invoice_only() -> None:
    contract = ContractOverrides(commitment=Commitment(amount=Decimal(30000), per="contract_year"))
    # June is not the last period of the contract year 2026-01-01..2027-01-01: nothing.
    assert "commitment_true_up" not in lines(invoice(contract, 20, JUNE, charged_earlier_in_year=Decimal(0)))
    # December: $25,000 charged earlier in the year + 20 x $50 = $26,000 → $4,000 short.
    dec = invoice(contract, 20, DECEMBER, charged_earlier_in_year=Decimal(25000))
    assert lines(dec)["commitment_true_up"] == Decimal("4000.00")


def test_a_grant_pays_part_of_an_invoice_then_expires() -> None:
    """A $1,000 grant from June 1 expiring July 1; June: 30 seats = $1,500 → credit -$1,000, $500 due.
    July (after expiry) the $0 left would draw nothing anyway; a grant with $200 left that expired on
    July 1 pays nothing of July."""
    grant = CreditGrant("cg_1", "Launch credit", Decimal(1000), Decimal(1000), at(6), at(7))
    june = invoice(ContractOverrides(), 30, credits=[grant])
    assert lines(june) == {"seats": Decimal("1500.00"), "credit:cg_1": Decimal("-1000.00")}
    assert june.total == Decimal(500)
    july = period_containing(ANCHOR, at(7, 15))
    left = CreditGrant("cg_1", "Launch credit", Decimal(1000), Decimal(200), at(6), at(7))
    assert "credit:cg_1" not in lines(invoice(ContractOverrides(), 30, july, credits=[left]))
    # A grant larger than the invoice pays it whole and the invoice is $0, never negative.
    big = CreditGrant("cg_2", "Big", Decimal(5000), Decimal(5000), at(6))
    assert invoice(ContractOverrides(), 30, credits=[big]).total == 0


def test_grants_drawn_by_priority_then_soonest_expiry() -> None:
    a = CreditGrant("a", "A", Decimal(100), Decimal(100), at(1), at(12), priority=1)
    b = CreditGrant("b", "B", Decimal(100), Decimal(100), at(1), at(9), priority=1)
    c = CreditGrant("c", "C", Decimal(100), Decimal("60"), at(1), None, priority=0)
    d = CreditGrant("d", "D", Decimal(100), Decimal(100), at(7), None, priority=0)  # not yet in effect in June
    used = [(g.grant_id, amount) for g, amount in draw([a, b, c, d], Decimal("210"), JUNE)]
    assert used == [("c", Decimal("60.00")), ("b", Decimal("100.00")), ("a", Decimal("50.00"))]


def test_credits_pay_the_true_up_too() -> None:
    # Commitment $2,500, 20 seats: $1,000 + $1,500 true-up; a $2,000 grant pays $2,000 of it: $500 due.
    grant = CreditGrant("cg", "Prepaid", Decimal(2000), Decimal(2000), at(1))
    inv = invoice(ContractOverrides(commitment=Commitment(amount=Decimal(2500))), 20, credits=[grant])
    assert lines(inv)["credit:cg"] == Decimal("-2000.00") and inv.total == Decimal(500)


def test_a_low_balance_is_told_when_a_draw_crosses_it() -> None:
    """Low below 20 % of the amount: $1,000 → $200. From $500, drawing $350 leaves $150: crossed; from $150
    (already low), drawing $50 is no new crossing; from $500 drawing $300 leaves exactly $200: not below."""
    grant = CreditGrant("g", "G", Decimal(1000), Decimal(500), at(1))
    assert crossed_low(grant, Decimal(350)) == Decimal(150)
    assert crossed_low(grant, Decimal(300)) is None
    assert crossed_low(CreditGrant("g", "G", Decimal(1000), Decimal(150), at(1)), Decimal(50)) is None
