"""The receivable state of a finalized invoice (docs/analytics.md, "Receivables"): Stripe's statuses, payment
terms and due dates, partial payments in integer minor units, the overdue flag. Pure: time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from rating.catalog.model import PaymentTerms as CatalogTerms

Status = Literal["draft", "open", "paid", "void", "uncollectible"]
Collection = Literal["charge_automatically", "send_invoice"]
STATUSES: tuple[Status, ...] = ("draft", "open", "paid", "void", "uncollectible")
# Where each status may go next (Stripe's invoice lifecycle): an uncollectible invoice can still be paid or voided.
MOVES: dict[Status, frozenset[Status]] = {
    "draft": frozenset({"open", "void"}),
    "open": frozenset({"paid", "void", "uncollectible"}),
    "uncollectible": frozenset({"paid", "void"}),
    "paid": frozenset(),
    "void": frozenset(),
}
DEFAULT_NET_DAYS = 30


class TransitionError(ValueError):
    """A move the lifecycle does not allow (e.g. paying a void invoice, paying more than is due)."""


@dataclass(frozen=True)
class PaymentTerms:
    """How an invoice is collected: charged automatically (due on finalization) or invoiced with net days."""

    collection: Collection = "charge_automatically"
    net_days: int = 0

    def due_date(self, issued: date) -> date:
        return issued + timedelta(days=self.net_days if self.collection == "send_invoice" else 0)


def terms_of(catalog_terms: CatalogTerms) -> PaymentTerms:
    """The terms of a tier's (or its contract's) ``payment_terms`` (docs/rating.md): ``send_invoice`` is due
    ``days_until_due`` days after finalization (30 when unset, Stripe's default); anything else on finalization."""
    if catalog_terms.collection == "send_invoice":
        days = catalog_terms.days_until_due
        return PaymentTerms("send_invoice", DEFAULT_NET_DAYS if days is None else days)
    return PaymentTerms()


@dataclass(frozen=True)
class Receivable:
    """What an invoice's buyer owes: ``amount_due`` the total to collect, ``amount_paid`` what came in."""

    status: Status
    amount_due: int
    amount_paid: int
    due_date: date | None

    @property
    def amount_remaining(self) -> int:
        return 0 if self.status in ("void", "paid") else self.amount_due - self.amount_paid

    def overdue(self, today: date) -> bool:
        """Open after its due date (the due day itself is not late; an uncollectible one is written off)."""
        return self.status == "open" and self.due_date is not None and today > self.due_date

    def days_overdue(self, today: date) -> int:
        return (today - self.due_date).days if self.overdue(today) and self.due_date is not None else 0


def _move(r: Receivable, to: Status) -> Receivable:
    if to not in MOVES[r.status]:
        raise TransitionError(f"an invoice {r.status} cannot become {to}")
    return replace(r, status=to)


def finalize(amount_due: int, issued: date, terms: PaymentTerms) -> Receivable:
    """A draft made ``open`` (nothing to collect on a zero invoice: it is ``paid`` at once, as Stripe does)."""
    if amount_due < 0:
        raise TransitionError("an invoice cannot be finalized with a negative amount due")
    r = Receivable("open", amount_due, 0, terms.due_date(issued))
    return replace(r, status="paid") if amount_due == 0 else r


def pay(r: Receivable, amount: int) -> Receivable:
    """A payment of ``amount`` minor units: partial keeps it open, the remainder makes it ``paid``."""
    if amount <= 0:
        raise TransitionError("a payment must be positive")
    if r.status not in ("open", "uncollectible"):
        raise TransitionError(f"an invoice {r.status} cannot be paid")
    if amount > r.amount_remaining:
        raise TransitionError(f"a payment of {amount} exceeds the {r.amount_remaining} remaining")
    paid = replace(r, amount_paid=r.amount_paid + amount)
    return _move(paid, "paid") if paid.amount_paid == paid.amount_due else paid


@dataclass(frozen=True)
class Credit:
    """A credit note's effect: ``credited`` lowers what is still owed, ``refunded`` is paid back."""

    receivable: Receivable
    credited: int
    refunded: int


def credit(r: Receivable, amount: int) -> Credit:
    """A correction of a finalized invoice by ``amount`` minor units (a credit note, never an edit): first what is
    still owed is lowered, the rest is refunded from what was paid. What is to be collected (``amount_due``) and,
    for a refund, what was kept (``amount_paid``) go down alike, so the buyer owes or keeps exactly the correction;
    an invoice left owing nothing is ``paid``."""
    if amount <= 0:
        raise TransitionError("a credit note must be positive")
    if r.status not in ("open", "paid", "uncollectible"):
        raise TransitionError(f"an invoice {r.status} cannot be credited")
    if amount > r.amount_due:
        raise TransitionError(f"a credit note of {amount} exceeds the {r.amount_due} the invoice collects")
    credited = min(amount, r.amount_due - r.amount_paid) if r.status != "paid" else 0
    refunded = amount - credited
    new = replace(r, amount_due=r.amount_due - amount, amount_paid=r.amount_paid - refunded)
    if new.status != "paid" and new.amount_paid == new.amount_due:
        new = replace(new, status="paid")
    return Credit(new, credited, refunded)


def void(r: Receivable) -> Receivable:
    if r.amount_paid:
        raise TransitionError("an invoice with payments cannot be voided (refund first)")
    return _move(r, "void")


def mark_uncollectible(r: Receivable) -> Receivable:
    return _move(r, "uncollectible")


def age_bucket(days_overdue: int) -> str:
    """The overdue-by-age bucket of docs/analytics.md."""
    if days_overdue <= 0:
        return "current"
    for limit in (30, 60, 90):
        if days_overdue <= limit:
            return f"{limit - 29 if limit > 30 else 1}-{limit}"
    return "90+"
