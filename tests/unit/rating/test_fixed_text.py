"""``fixed_text`` is ``f"{d:f}"``, digit for digit, for every finite decimal (it takes ``str`` when that agrees)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.money import fixed_text


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "1",
        "1.0",
        "1.000000000",
        "1E+2",
        "100",
        "0.000001",
        "0.0000001",
        "1E-7",
        "0E-7",
        "0E+3",
        "-12.3400",
        "123456789012345678901234567890.123456789",
        "9.99E+20",
        "-5E-12",
    ],
)
def test_the_same_text_as_fixed_point_formatting(text: str) -> None:
    d = Decimal(text)
    assert fixed_text(d) == f"{d:f}"


@settings(max_examples=500)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal(d: Decimal) -> None:
    assert fixed_text(d) == f"{d:f}"


@settings(max_examples=300)
@given(st.integers(-(10**30), 10**30), st.integers(-30, 30))
def test_any_coefficient_and_exponent(coefficient: int, exponent: int) -> None:
    d = Decimal(coefficient).scaleb(exponent)
    assert fixed_text(d) == f"{d:f}"
