"""Seat pricing under a contract, worked by hand from the rule (docs/rating.md, "Contracts"): the catalog's
enterprise brackets are $50 up to 100 seats, $40 up to 500, $30 up to 2,000, then $25. Volume (the default)
prices every seat at the bracket reached; graduated prices each bracket's seats at its own price."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides, ContractTerm
from rating.contract_terms import term_end
from rating.invoice import preview_invoice
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

D = Decimal
CATALOG = load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))
ANCHOR = date(2026, 1, 1)
NOV = period_containing(ANCHOR, datetime(2026, 11, 10, tzinfo=UTC))
MID = datetime(2026, 11, 16, tzinfo=UTC)


def version(contract: ContractOverrides | None, at: datetime = datetime(2026, 1, 1, tzinfo=UTC), no: int = 1):  # type: ignore[no-untyped-def]
    return SubscriptionVersion(
        account_id="acct",
        account_kind="org",
        tier="enterprise",
        interval="month",
        anchor=ANCHOR,
        effective_from=at,
        version=no,
        contract=contract,
    )


def seats(users: int, *versions: SubscriptionVersion) -> tuple[str, str]:
    usage = PeriodUsage(seat_users=frozenset(f"u{i}" for i in range(users)))
    inv = preview_invoice(SubscriptionHistory("acct", list(versions)), [usage] * len(versions), NOV, CATALOG)
    [line] = [ln for ln in inv.to_document()["lines"] if ln["code"] == "seats"]
    return line["quantity"], line["amount"]


GRADUATED = ContractOverrides(seat_mode="graduated")


@pytest.mark.parametrize(
    ("users", "contract", "amount"),
    [
        (100, None, "5000.00"),  # 100 x $50
        (101, None, "4040.00"),  # volume: all 101 at $40
        (100, GRADUATED, "5000.00"),  # 100 x $50
        (101, GRADUATED, "5040.00"),  # 100 x $50 + 1 x $40
        (600, GRADUATED, "24000.00"),  # 100 x $50 + 400 x $40 + 100 x $30 = 5,000 + 16,000 + 3,000
    ],
)
def test_volume_is_the_default_and_graduated_a_contract_choice(
    users: int, contract: ContractOverrides | None, amount: str
) -> None:
    assert seats(users, version(contract)) == (str(users), amount)


def test_minimum_seats_are_billed_however_few_are_active() -> None:
    # 30 active, minimum 120: volume 120 x $40 = $4,800; graduated 100 x $50 + 20 x $40 = $5,800.
    assert seats(30, version(ContractOverrides(minimum_seats=120))) == ("120", "4800.00")
    assert seats(30, version(ContractOverrides(minimum_seats=120, seat_mode="graduated"))) == ("120", "5800.00")
    # Above the minimum, the active seats: 130 x $40 = $5,200.
    assert seats(130, version(ContractOverrides(minimum_seats=120))) == ("130", "5200.00")


def test_a_contract_put_mid_period_prices_the_seats_under_the_version_in_effect_at_the_end() -> None:
    # Seats are priced once, under the last seat-priced version of the period (docs/rating.md): 101 users,
    # graduated from the 16th on: 100 x $50 + 1 x $40 = $5,040 (volume before it would be $4,040).
    assert seats(101, version(None), version(GRADUATED, MID, 2)) == ("101", "5040.00")
    assert seats(101, version(GRADUATED), version(None, MID, 2)) == ("101", "4040.00")


def test_a_contract_change_mid_period_rates_each_side_under_its_own_version() -> None:
    # Standard: 100,000 calls included, then $0.01. From the 16th a contract prices them at $0.005:
    # 100,000 calls before it (all included), 10,000 after at $0.005 = $50.00 (not $100.00).
    def std(contract: ContractOverrides | None, at: datetime, no: int) -> SubscriptionVersion:
        return version(contract, at, no).model_copy(update={"tier": "standard"})

    rule = CATALOG.tiers["standard"].metrics["api_calls"].model_copy(update={"unit_price": D("0.005")})
    history = [
        std(None, datetime(2026, 1, 1, tzinfo=UTC), 1),
        std(ContractOverrides(metrics={"api_calls": rule}), MID, 2),
    ]
    usage = [PeriodUsage(api_calls=D(100_000)), PeriodUsage(api_calls=D(10_000))]
    inv = preview_invoice(SubscriptionHistory("acct", history), usage, NOV, CATALOG)
    got = {ln["code"]: (ln["quantity"], ln["amount"]) for ln in inv.to_document()["lines"]}
    assert got["api_calls_overage"] == ("10000", "50.00")


def test_a_terms_end_renews_by_its_months_or_stays() -> None:
    renewing = ContractTerm(starts_on=date(2025, 1, 31), ends_on=date(2026, 1, 31), renewal_months=1)
    assert term_end(renewing, date(2026, 1, 30)) == date(2026, 1, 31)
    assert term_end(renewing, date(2026, 1, 31)) == date(2026, 2, 28)  # the last day of a shorter month
    assert term_end(renewing, date(2026, 3, 5)) == date(2026, 3, 31)
    ending = ContractTerm(starts_on=date(2025, 1, 1), ends_on=date(2026, 1, 1), renewal="end")
    assert term_end(ending, date(2025, 12, 31)) == date(2026, 1, 1)
    assert term_end(ending, date(2026, 1, 1)) is None
