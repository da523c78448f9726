"""The receivable rules (rating.receivables) with hand-worked numbers: due dates by payment terms, partial
payments in minor units, the moves Stripe's lifecycle allows, overdue days and age buckets."""

from __future__ import annotations

from datetime import date

import pytest

from rating import receivables as rc
from rating.catalog.model import PaymentTerms as CatalogTerms

ISSUED = date(2026, 1, 31)


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        (CatalogTerms(collection="none"), date(2026, 1, 31)),
        (CatalogTerms(collection="charge_automatically"), date(2026, 1, 31)),
        (CatalogTerms(collection="send_invoice"), date(2026, 3, 2)),  # net 30 by default
        (CatalogTerms(collection="send_invoice", days_until_due=60), date(2026, 4, 1)),
        (CatalogTerms(collection="send_invoice", days_until_due=45), date(2026, 3, 17)),
        (CatalogTerms(collection="send_invoice", days_until_due=0), date(2026, 1, 31)),
    ],
)
def test_due_date_follows_the_payment_terms(terms: CatalogTerms, due: date) -> None:
    assert rc.terms_of(terms).due_date(ISSUED) == due


def test_partial_payments_then_paid_and_no_overpayment() -> None:
    r = rc.finalize(10_000, ISSUED, rc.PaymentTerms("send_invoice", 30))
    assert (r.status, r.amount_remaining) == ("open", 10_000)
    r = rc.pay(r, 2_501)
    assert (r.status, r.amount_paid, r.amount_remaining) == ("open", 2_501, 7_499)
    with pytest.raises(rc.TransitionError):
        rc.pay(r, 7_500)
    r = rc.pay(r, 7_499)
    assert (r.status, r.amount_paid, r.amount_remaining) == ("paid", 10_000, 0)
    with pytest.raises(rc.TransitionError):
        rc.pay(r, 1)


def test_zero_invoices_are_paid_on_finalization_and_moves_are_checked() -> None:
    assert rc.finalize(0, ISSUED, rc.PaymentTerms()).status == "paid"
    r = rc.finalize(500, ISSUED, rc.PaymentTerms())
    assert rc.void(r).status == "void"
    assert rc.void(r).amount_remaining == 0
    lost = rc.mark_uncollectible(r)
    assert rc.pay(lost, 500).status == "paid"  # an uncollectible invoice can still be paid
    with pytest.raises(rc.TransitionError):
        rc.void(rc.pay(r, 100))
    with pytest.raises(rc.TransitionError):
        rc.mark_uncollectible(rc.void(r))


def test_overdue_after_the_due_day_with_age_buckets() -> None:
    r = rc.finalize(500, ISSUED, rc.PaymentTerms("send_invoice", 30))  # due 2026-03-02
    assert not r.overdue(date(2026, 3, 2))
    assert (r.overdue(date(2026, 3, 3)), r.days_overdue(date(2026, 3, 3))) == (True, 1)
    assert [rc.age_bucket(d) for d in (0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]
    assert not rc.pay(r, 500).overdue(date(2026, 6, 1))
