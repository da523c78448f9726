"""Credit notes (rating.receivables.credit), worked by hand: a correction lowers what is still owed first and
refunds the rest of what was paid; nothing is edited."""

from __future__ import annotations

from datetime import date

import pytest

from rating.receivables import Receivable, TransitionError, credit

DUE = date(2026, 7, 31)


def test_an_open_invoice_owes_less() -> None:
    c = credit(Receivable("open", 10_000, 0, DUE), 2_500)
    assert (c.credited, c.refunded) == (2_500, 0)
    assert c.receivable == Receivable("open", 7_500, 0, DUE)


def test_a_partly_paid_invoice_is_credited_then_refunded_and_ends_paid() -> None:
    # 100.00 billed, 40.00 paid; a correction of 80.00: 60.00 taken off what is owed, 20.00 paid back.
    c = credit(Receivable("open", 10_000, 4_000, DUE), 8_000)
    assert (c.credited, c.refunded) == (6_000, 2_000)
    assert c.receivable == Receivable("paid", 2_000, 2_000, DUE)


def test_a_paid_invoice_is_refunded() -> None:
    c = credit(Receivable("paid", 10_000, 10_000, DUE), 1_999)
    assert (c.credited, c.refunded) == (0, 1_999)
    assert c.receivable == Receivable("paid", 8_001, 8_001, DUE)


def test_a_full_credit_before_payment_leaves_nothing_owed() -> None:
    c = credit(Receivable("open", 4_999, 0, DUE), 4_999)
    assert c.receivable.status == "paid" and c.receivable.amount_remaining == 0 and c.refunded == 0


@pytest.mark.parametrize(
    "r, amount",
    [
        (Receivable("open", 10_000, 0, DUE), 10_001),  # more than it collects
        (Receivable("void", 10_000, 0, DUE), 1),  # void: reissue instead
        (Receivable("open", 10_000, 0, DUE), 0),
    ],
)
def test_what_cannot_be_credited(r: Receivable, amount: int) -> None:
    with pytest.raises(TransitionError):
        credit(r, amount)
