"""``meterline invoice credit-note`` and ``record-payment`` take amounts as the API takes a credit note's: whole
cents, refused before anything is written otherwise (a mistyped 10.005 was rounded to 10.00 and issued)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.cli.main import main


@pytest.mark.parametrize("command", ["credit-note", "record-payment"])
@pytest.mark.parametrize("amount", ["10.005", "-5", "1e3", "NaN", "10.", ""])
def test_an_amount_not_in_whole_cents_is_refused(command: str, amount: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--reason", "order_change"] if command == "credit-note" else ["--method", "wire"]
    with pytest.raises(SystemExit) as exit_:
        main(["invoice", command, "--invoice", "in_acme_2026-05", "--amount", amount, *extra])
    assert exit_.value.code == 2
    assert "not an amount in whole cents" in capsys.readouterr().err


def test_whole_cents_are_taken_as_written() -> None:
    from streams.cli.invoice_cmd import cents

    assert [cents(t) for t in ("10", "10.5", "10.05", "0.01")] == [
        Decimal("10"),
        Decimal("10.5"),
        Decimal("10.05"),
        Decimal("0.01"),
    ]
