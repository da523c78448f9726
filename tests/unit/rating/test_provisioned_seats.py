"""Seats on the ``provisioned`` basis (docs/rating.md, "Seats"): the most members the organization had at any
one time in the period, from its membership history. Worked by hand from the rule: November 2026 (30 days),
the catalog's enterprise brackets ($50 up to 100 seats, $40 up to 500; volume by default)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides
from rating.invoice import billing_segments, preview_invoice
from rating.periods import period_containing
from rating.seats import Membership, counted_seats, members_during, most_members
from rating.settle import counts_members, with_members
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

CATALOG = load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))
NOV = period_containing(date(2026, 1, 1), datetime(2026, 11, 10, tzinfo=UTC))
PROVISIONED = ContractOverrides(seat_basis="provisioned")


def day(d: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, tzinfo=UTC)


def team(n: int, joined: datetime, left: datetime | None = None, prefix: str = "u") -> list[Membership]:
    return [Membership(f"{prefix}{i}", joined, left) for i in range(n)]


def test_most_members_is_the_peak_not_everyone_who_was_ever_a_member() -> None:
    # 80 members all month; 30 join on the 10th and leave on the 20th; 40 join on the 20th (as the 30 leave):
    # peak 80 + 40 = 120 from the 20th (the 30 left at the instant the 40 joined), not 80 + 30 + 40 = 150.
    spans = team(80, day(1) - timedelta(days=60)) + team(30, day(10), day(20), "a") + team(40, day(20), None, "b")
    assert most_members(spans, NOV.start, NOV.end) == 120
    # Before the 20th: 80 + 30 = 110.
    assert most_members(spans, NOV.start, day(20)) == 110
    # Everyone who was a member at some time of the period: 150 (the per-member view, not the seat count).
    assert len(members_during(spans, NOV.start, NOV.end)) == 150


def test_stretches_outside_the_period_and_a_member_back_twice() -> None:
    # Left on Nov 1 00:00 exactly: not a member in November. Joins Dec 1 00:00: not either.
    spans = [Membership("gone", day(1) - timedelta(days=3), day(1)), Membership("later", NOV.end)]
    assert most_members(spans, NOV.start, NOV.end) == 0
    # One user who leaves on the 5th and comes back on the 25th is one member, never two at once.
    back = [Membership("ann", day(1) - timedelta(days=5), day(5)), Membership("ann", day(25))]
    assert most_members(back, NOV.start, NOV.end) == 1


def test_counted_seats_picks_the_basis() -> None:
    assert counted_seats("active", 7, 12) == 7
    assert counted_seats("provisioned", 7, 12) == 12


def org(*versions: tuple[ContractOverrides | None, datetime]) -> SubscriptionHistory:
    return SubscriptionHistory(
        "org",
        [
            SubscriptionVersion(
                account_id="org",
                account_kind="org",
                tier="enterprise",
                interval="month",
                anchor=date(2026, 1, 1),
                effective_from=at,
                version=n,
                contract=c,
            )
            for n, (c, at) in enumerate(versions, 1)
        ],
    )


def seat_line(history: SubscriptionHistory, active: int, spans: list[Membership]) -> tuple[str, str, str]:
    segments = billing_segments(history, NOV, CATALOG)
    usage = [PeriodUsage(seat_users=frozenset(f"x{i}" for i in range(active))) for _ in segments]
    if counts_members(segments, CATALOG):
        usage = with_members(usage, segments, spans)
    inv = preview_invoice(history, usage, NOV, CATALOG)
    [line] = [ln for ln in inv.to_document()["lines"] if ln["code"] == "seats"]
    return line["quantity"], line["amount"], line["description"]


def test_a_provisioned_contract_bills_the_peak_members_with_members_joining_and_leaving() -> None:
    # 90 members all month, 15 more from the 10th to the 20th: peak 105 -> volume $40 -> 105 x $40 = $4,200,
    # although only 60 of them used the platform (active basis: 60 x $50 = $3,000).
    spans = team(90, day(1) - timedelta(days=30)) + team(15, day(10), day(20), "t")
    start = day(1) - timedelta(days=300)
    assert seat_line(org((PROVISIONED, start)), 60, spans) == ("105", "4200.00", "105 provisioned seats")
    assert seat_line(org((None, start)), 60, spans) == ("60", "3000.00", "60 active seats")


def test_minimum_seats_apply_on_the_provisioned_basis_too() -> None:
    # 90 members at most, minimum 120: 120 x $40 = $4,800.
    contract = ContractOverrides(seat_basis="provisioned", minimum_seats=120)
    spans = team(90, day(1) - timedelta(days=30))
    assert seat_line(org((contract, day(1) - timedelta(days=300))), 10, spans) == (
        "120",
        "4800.00",
        "120 seats (contract minimum; 90 provisioned)",
    )


def test_a_contract_moving_to_the_provisioned_basis_mid_period() -> None:
    # The last seat-priced version prices the seats (docs/rating.md): provisioned from the 16th; its basis counts
    # the most members over the stretches under seat-priced tiers: 50 all month + 60 who left on the 12th -> 110
    # (before the 16th) -> 110 x $40 = $4,400.
    spans = team(50, day(1) - timedelta(days=30)) + team(60, day(1) - timedelta(days=30), day(12), "g")
    history = org((None, day(1) - timedelta(days=300)), (PROVISIONED, day(16)))
    assert seat_line(history, 20, spans)[:2] == ("110", "4400.00")
