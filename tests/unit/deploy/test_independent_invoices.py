"""The independent expectation (deploy/demo/independent_invoices.py) on hand-worked cases from docs/rating.md
and issue 19, so the check the pipeline is held to is itself held to the contract."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from deploy.demo.independent_invoices import Expectation, Usage, period_on

D = Decimal


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def sub(
    account: str, tier: str, at: datetime, v: int = 1, anchor: date = date(2026, 1, 1), interval: str = "month"
) -> dict[str, Any]:
    return {
        "account_id": account,
        "tier": tier,
        "status": "active",
        "interval": interval,
        "anchor": anchor,
        "effective_from": at,
        "version": v,
    }


def ev(n: int, user: str, metric: str, at: datetime, qty: int | str = 1, org: str | None = None, **p: str) -> Usage:
    return Usage("t", f"e{n}", at, user, org, metric, D(qty), p)


NOV = (utc(2026, 11, 1), utc(2026, 12, 1))


def lines(ex: Expectation, account: str, period: tuple[datetime, datetime]) -> dict[str, tuple[str, str, str]]:
    inv = ex.invoice(account, *period)
    return {
        ln.code: (f"{ln.quantity.normalize():f}", f"{ln.unit_price.normalize():f}", f"{ln.amount}") for ln in inv.lines
    }


def test_upgrade_mid_period_prorates_and_consumes_the_quota_in_time_order() -> None:
    # free -> standard on Nov 16: 15/30 left, 49.99 x 0.5 = 24.995 -> 25.00; 108,000 calls -> 8,000 x $0.01.
    ex = Expectation(
        [sub("u", "free", utc(2025, 1, 1)), sub("u", "standard", utc(2026, 11, 16), 2)],
        [
            ev(1, "u", "api_calls", utc(2026, 11, 10), 8000),
            ev(2, "u", "api_calls", utc(2026, 11, 20), 100_000),
            ev(2, "u", "api_calls", utc(2026, 11, 20), 100_000),
        ],  # a duplicate counts once
    )
    assert lines(ex, "u", NOV) == {
        "base_fee_proration": ("0.5", "49.99", "25.00"),
        "api_calls_overage": ("8000", "0.01", "80.00"),
    }
    assert ex.invoice("u", *NOV).total == D("105.00")


def test_a_seat_is_any_usage_and_all_seats_take_the_reached_price() -> None:
    # 100 users with heartbeats and one with API calls only: 101 seats x $40 = $4,040 (not 100 x $50).
    events = [ev(i, f"m{i}", "active_user", utc(2026, 11, 3), org="o") for i in range(100)]
    events.append(ev(500, "m100", "api_calls", utc(2026, 11, 4), 10, org="o"))
    events.append(ev(501, "m101", "api_calls", utc(2026, 12, 1), 10, org="o"))  # next period: not a seat
    ex = Expectation([sub("o", "enterprise", utc(2025, 1, 1), interval="year", anchor=date(2025, 11, 1))], events)
    assert lines(ex, "o", NOV) == {"platform_fee": ("1", "10000", "10000.00"), "seats": ("101", "40", "4040.00")}
    big = [ev(i, f"m{i}", "storage_gb", utc(2026, 11, 3), 1, org="o") for i in range(2001)]
    ex = Expectation([sub("o", "enterprise", utc(2025, 1, 1), interval="year", anchor=date(2025, 6, 1))], big)
    assert lines(ex, "o", NOV) == {"seats": ("2001", "25", "50025.00")}  # not the anniversary: no platform fee


def test_storage_is_time_weighted_and_follows_the_billing_account() -> None:
    # Held through an organization without a subscription, so billed to the (standard) user:
    # 40 GB for 15 days then 80 GB for 15 days -> 60 GB average -> 10 GB over x $0.10 = $1.00.
    ex = Expectation(
        [sub("u", "standard", utc(2025, 1, 1))],
        [
            ev(1, "u", "storage_gb", utc(2026, 10, 20), 40, org="no-sub"),
            ev(2, "u", "storage_gb", utc(2026, 11, 16), 80, org="no-sub"),
        ],
    )
    assert lines(ex, "u", NOV) == {"base_fee": ("1", "49.99", "49.99"), "storage_overage": ("10", "0.1", "1.00")}


def test_short_months_and_annual_fees() -> None:
    # Anchor Jan 31: Feb 28 - Mar 31 (31 days); free -> standard on Mar 16: 49.99 x 15/31 = 24.1887 -> 24.19.
    feb = (utc(2026, 2, 28), utc(2026, 3, 31))
    assert period_on(31, utc(2026, 3, 1)) == feb
    assert period_on(31, utc(2026, 2, 27, 23)) == (utc(2026, 1, 31), utc(2026, 2, 28))
    a = date(2026, 1, 31)
    ex = Expectation([sub("u", "free", utc(2025, 1, 1), anchor=a), sub("u", "standard", utc(2026, 3, 16), 2, a)], [])
    assert lines(ex, "u", feb) == {"base_fee_proration": (f"{D(15) / D(31):f}", "49.99", "24.19")}
    # Standard yearly: $499.90 only in the period starting on the anchor's anniversary.
    y = date(2025, 11, 1)
    ex = Expectation([sub("y", "standard", utc(2025, 11, 1), anchor=y, interval="year")], [])
    assert lines(ex, "y", NOV) == {"base_fee": ("1", "499.9", "499.90")}
    assert lines(ex, "y", (utc(2026, 12, 1), utc(2027, 1, 1))) == {}


def test_free_caps_and_entitlements_are_never_billed_and_periods_follow_the_anchor() -> None:
    ex = Expectation(
        [sub("s", "standard", utc(2026, 10, 2), anchor=date(2026, 10, 2))],
        [
            ev(1, "f", "api_calls", utc(2026, 11, 5), 12_000),
            ev(2, "f", "premium_feature", utc(2026, 11, 5), feature="deep_research"),
            ev(3, "f", "storage_gb", utc(2026, 11, 5), 9),
            ev(4, "s", "premium_feature", utc(2026, 11, 1, 12), 3, feature="voice_synthesis"),
        ],
    )
    assert lines(ex, "f", NOV) == {}
    # Anchored on the 2nd: usage of November 1 is October's (Oct 2 - Nov 2).
    assert ex.period("s", utc(2026, 11, 1, 12)) == (utc(2026, 10, 2), utc(2026, 11, 2))
    oct_ = (utc(2026, 10, 2), utc(2026, 11, 2))
    assert lines(ex, "s", oct_) == {
        "base_fee": ("1", "49.99", "49.99"),
        "premium_feature:voice_synthesis": ("3", "0.2", "0.60"),
    }
    assert ex.usage_periods() >= {("s", *oct_)}
    assert ("s", utc(2026, 11, 2), utc(2026, 12, 2)) not in ex.usage_periods()
    assert timedelta(0) < NOV[1] - NOV[0]


def test_contracts_graduated_and_minimum_seats_fees_and_a_mid_period_change() -> None:
    def on(contract: dict[str, Any]) -> dict[str, Any]:
        return {**sub("o", "enterprise", utc(2025, 1, 1), 1, date(2026, 1, 1)), "contract": contract}

    users = [ev(i, f"m{i}", "api_calls", utc(2026, 11, 3), 1, org="o") for i in range(101)]
    # Graduated: 100 x $50 + 1 x $40 = $5,040 (average $49.9009...); the contract's monthly platform fee $1,500.
    ex = Expectation([on({"seat_mode": "graduated", "platform_fee": {"month": "1500"}})], users)
    got = lines(ex, "o", NOV)
    assert got["seats"][::2] == ("101", "5040.00") and got["platform_fee"] == ("1", "1500", "1500.00")
    # Minimum 120 seats with 30 active: volume 120 x $40 = $4,800.
    ex = Expectation([on({"minimum_seats": 120})], users[:30])
    assert lines(ex, "o", NOV)["seats"] == ("120", "40", "4800.00")
    # A contract from the 16th on (standard tier): 100,000 calls before it (included), 10,000 after at the
    # contract's $0.005 = $50.00, not the catalog's $0.01.
    std = {**sub("o", "standard", utc(2026, 1, 1), 1, date(2026, 1, 1))}
    rule = {"included": "100000", "unit_price": "0.005"}
    changed = {**std, "effective_from": utc(2026, 11, 16), "version": 2, "contract": {"metrics": {"api_calls": rule}}}
    calls = [
        ev(1, "u", "api_calls", utc(2026, 11, 10), 100_000, org="o"),
        ev(2, "u", "api_calls", utc(2026, 11, 20), 10_000, org="o"),
    ]
    assert lines(Expectation([std, changed], calls), "o", NOV)["api_calls_overage"] == ("10000", "0.005", "50.00")
    # Without the contract the same calls cost $0.01 each: $100.00.
    assert lines(Expectation([std], calls), "o", NOV)["api_calls_overage"] == ("10000", "0.01", "100.00")
