"""The independent expectation's contract extras (deploy/demo/independent_contracts.py) on hand-worked cases
from docs/rating.md: provisioned seats, add-ons, a commitment true-up and credit grants. November 2026, 30
days; an enterprise organization whose contract waives the platform fee (only what is tested is billed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deploy.demo.independent_contracts import AddonRecord, Grant, Member
from deploy.demo.independent_invoices import Expectation, Usage

D = Decimal
NOV = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
DEC = (NOV[1], datetime(2027, 1, 1, tzinfo=UTC))


def day(d: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, d, hour, tzinfo=UTC)


def org(contract: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": "org",
        "tier": "enterprise",
        "status": "active",
        "interval": "month",
        "anchor": "2026-01-01",
        "effective_from": datetime(2026, 1, 1, tzinfo=UTC),
        "version": 1,
        "contract": {"platform_fee": {"year": "0"}, **contract},
    }


def users(n: int) -> list[Usage]:
    return [Usage("t", f"e{i}", day(2, 10), f"u{i}", "org", "api_calls", D(1)) for i in range(n)]


def lines(ex: Expectation, period: tuple[datetime, datetime] = NOV) -> dict[str, tuple[str, str, str]]:
    return {
        ln.code: (f"{ln.quantity.normalize():f}", f"{ln.unit_price.normalize():f}", f"{ln.amount}")
        for ln in ex.invoice("org", *period).lines
    }


def test_provisioned_seats_are_the_most_members_at_once() -> None:
    # 90 members all month, 15 from the 10th to the 20th, 20 from the 20th (as the 15 leave): peak 110 (from the
    # 20th), volume $40 -> $4,400; only 5 of them used the platform (active basis: 5 x $50 = $250).
    members = [Member("org", f"m{i}", day(1) - (day(2) - day(1)) * 30) for i in range(90)]
    members += [Member("org", f"t{i}", day(10), day(20)) for i in range(15)]
    members += [Member("org", f"n{i}", day(20)) for i in range(20)]
    ex = Expectation([org({"seat_basis": "provisioned"})], users(5), members=members)
    assert lines(ex)["seats"] == ("110", "40", "4400.00")
    assert lines(Expectation([org({})], users(5), members=members))["seats"] == ("5", "50", "250.00")


def test_addons_of_every_kind() -> None:
    # Setup $15,000 on the 4th; advanced analytics at the contract's $1,500 from the 12th 06:00: 18 days 18 hours
    # of 30 days = 0.625 -> $937.50; 6 + 3.5 hours of development at $150 = $1,425 (hours of December not now).
    addons = [
        AddonRecord("org", "white_label_setup", day(4, 9)),
        AddonRecord("org", "advanced_analytics", day(12, 6)),
        AddonRecord(
            "org", "custom_development", day(1), hours=((day(6), D(6)), (day(20), D("3.5")), (day(2, month=12), D(8)))
        ),
    ]
    ex = Expectation([org({"addons": {"advanced_analytics": "1500"}})], users(0), addons=addons)
    got = lines(ex)
    assert got["addon:white_label_setup"] == ("1", "15000", "15000.00")
    assert got["addon:advanced_analytics"] == ("0.625", "1500", "937.50")
    assert got["addon:custom_development"] == ("9.5", "150", "1425.00")
    # December: the whole month of analytics and the 8 hours.
    dec = lines(ex, DEC)
    assert dec["addon:advanced_analytics"] == ("1", "1500", "1500.00")
    assert dec["addon:custom_development"] == ("8", "150", "1200.00")
    assert "addon:white_label_setup" not in dec


def test_commitment_true_up_then_credits_pay_part_and_carry_over() -> None:
    # 20 active seats x $50 = $1,000 against a $3,000 commitment: true-up $2,000. The priority-0 grant of $100
    # pays first, then the $3,000 priority-1 grant the other $2,900 (an expired one pays nothing): $0 due.
    # December: no usage, the whole $3,000 is a true-up; the big grant's last $100 pays part of it.
    grants = [
        Grant("org", "cg_big", D(3000), day(1) - (day(2) - day(1)) * 5, None, priority=1),
        Grant("org", "cg_small", D(100), day(1), day(1, month=12) + (day(2) - day(1)) * 40, priority=0),
        Grant("org", "cg_old", D(9000), day(1) - (day(2) - day(1)) * 90, day(1) - (day(2) - day(1))),
    ]
    contract = {"commitment": {"amount": "3000", "per": "period"}}
    ex = Expectation([org(contract)], users(20), grants=grants)
    nov = lines(ex)
    assert nov["seats"] == ("20", "50", "1000.00")
    assert nov["commitment_true_up"] == ("1", "2000", "2000.00")
    assert nov["credit:cg_small"] == ("1", "-100", "-100.00")
    assert nov["credit:cg_big"] == ("1", "-2900", "-2900.00")
    assert "credit:cg_old" not in nov
    assert ex.invoice("org", *NOV).total == 0  # computed again: the same draws, not twice
    dec = lines(ex, DEC)
    assert dec["commitment_true_up"] == ("1", "3000", "3000.00")
    assert dec["credit:cg_big"] == ("1", "-100", "-100.00")
