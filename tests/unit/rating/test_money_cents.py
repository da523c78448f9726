"""Cents for Stripe: whole cents half-even like a line (docs/rating.md), unit prices exact."""

from __future__ import annotations

from decimal import Decimal

from rating.money import cents_exact, minor_units, money_display, quantity_text


def test_minor_units_round_half_even_not_truncate() -> None:
    assert minor_units(Decimal("49.99")) == 4999
    assert minor_units(Decimal("0.125")) == 12  # half to even: down
    assert minor_units(Decimal("0.135")) == 14  # half to even: up (truncating gave 13)
    assert minor_units(Decimal("0.019")) == 2  # truncating gave 1
    assert minor_units(Decimal("-0.135")) == -14
    assert minor_units(Decimal("0")) == 0


def test_cents_exact_keeps_full_precision() -> None:
    assert cents_exact(Decimal("49.99")) == Decimal(4999)
    assert cents_exact(Decimal("0.10"), 1000) == Decimal("0.01")
    assert cents_exact(Decimal("0.000000000001")) == Decimal("1E-10")
    assert str(cents_exact(Decimal("0.01"), 3)).startswith("0.3333333333333333")  # not rounded to 12 places


def test_quantity_text_reads_as_people_write_it() -> None:
    assert [quantity_text(Decimal(x)) for x in ("12.000", "0.50", "1.5E+3", "0E-8", "-0", "0.000001")] == [
        "12",
        "0.5",
        "1500",
        "0",
        "0",
        "0.000001",
    ]


def test_money_display_puts_the_sign_before_the_symbol() -> None:
    assert [money_display(Decimal(x)) for x in ("1234.5", "-1.43", "0", "-0.004", "1000000")] == [
        "$1,234.50",
        "-$1.43",
        "$0.00",
        "$0.00",
        "$1,000,000.00",
    ]
    assert money_display(Decimal("-12"), "eur") == "-12.00 EUR"
