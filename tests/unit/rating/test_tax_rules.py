"""Tax lines from the rate table (rating/tax.py, docs/invoices.md), with hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rating.invoice import Invoice, InvoiceLine
from rating.periods import Period
from rating.tax import TaxTableError, load_tax_table, parse_tax_table, tax_lines

TABLE = parse_tax_table(
    """
[[rates]]
country = "DE"
name = "VAT"
rate = "0.16"
effective_from = 2020-07-01

[[rates]]
country = "DE"
name = "VAT"
rate = "0.19"
effective_from = 2021-01-01

[[rates]]
country = "CA"
name = "GST"
rate = "0.05"
effective_from = 2008-01-01

[[rates]]
country = "CA"
region = "BC"
name = "PST"
rate = "0.07"
effective_from = 2013-04-01
""",
    "test",
)


def _line(code: str, amount: str) -> InvoiceLine:
    return InvoiceLine(code, code, Decimal(1), Decimal(amount), Decimal(amount))


def test_the_rate_in_effect_on_the_day_applies() -> None:
    assert [r.rate for r in TABLE.in_effect("DE", None, date(2020, 12, 31))] == [Decimal("0.16")]
    assert [r.rate for r in TABLE.in_effect("de", None, date(2021, 1, 1))] == [Decimal("0.19")]
    assert TABLE.in_effect("DE", None, date(2020, 6, 30)) == []
    assert TABLE.in_effect("FR", None, date(2026, 1, 1)) == [] and TABLE.in_effect(None, None, date(2026, 1, 1)) == []


def test_a_region_adds_its_own_rate_to_the_country_one() -> None:
    assert [r.name for r in TABLE.in_effect("CA", "BC", date(2026, 1, 1))] == ["GST", "PST"]
    assert [r.name for r in TABLE.in_effect("CA", "ON", date(2026, 1, 1))] == ["GST"]


def test_tax_is_on_the_other_lines_rounded_half_even_once_at_the_tax_line() -> None:
    lines = [_line("base_fee", "49.99"), _line("api_calls_overage", "500.00")]
    (vat,) = tax_lines(lines, TABLE.in_effect("DE", None, date(2026, 5, 31)))
    # 549.99 x 0.19 = 104.4981 -> 104.50
    assert (vat.code, vat.quantity, vat.amount) == ("tax:0.19", Decimal("549.99"), Decimal("104.50"))
    assert vat.description == "VAT 19% (DE)"
    # 2.50 x 0.05 = 0.125 -> 0.12 (half-even; half-up would say 0.13); 2.50 x 0.07 = 0.175 -> 0.18
    gst, pst = tax_lines([_line("seats", "2.50")], TABLE.in_effect("CA", "BC", date(2026, 5, 31)))
    assert (gst.amount, pst.amount) == (Decimal("0.12"), Decimal("0.18"))
    assert pst.code == "tax:0.07" and pst.description == "PST 7% (CA-BC)"


def test_no_rate_or_nothing_owed_gives_no_tax_line() -> None:
    assert tax_lines([_line("base_fee", "49.99")], []) == []
    assert tax_lines([_line("credit:x", "-10.00")], TABLE.in_effect("DE", None, date(2026, 1, 1))) == []
    assert load_tax_table().rates == ()  # the shipped table is empty


def test_the_invoice_subtotal_leaves_tax_out_and_the_total_holds_it() -> None:
    lines = (_line("base_fee", "49.99"), _line("api_calls_overage", "500.00"))
    period = Period(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    inv = Invoice("acme", period, "final", (*lines, *tax_lines(lines, TABLE.in_effect("DE", None, date(2026, 5, 31)))))
    doc = inv.to_document()
    assert (doc["subtotal"], doc["total"]) == ("549.99", "654.49")


@pytest.mark.parametrize(
    "entry",
    [
        'country = "Germany"\nrate = "0.19"\neffective_from = 2021-01-01',
        'country = "DE"\nrate = "19"\neffective_from = 2021-01-01',
        'country = "DE"\nrate = "0.19"\neffective_from = "soon"',
        'country = "DE"\neffective_from = 2021-01-01',
    ],
)
def test_a_malformed_table_is_refused(entry: str) -> None:
    with pytest.raises(TaxTableError, match="rates\\[0\\]"):
        parse_tax_table(f"[[rates]]\n{entry}\n", "bad.toml")
