"""Paying out a credit note's refund (docs/invoices.md, "Refunds"): through Stripe Refunds when Stripe collected
the invoice, else owed to the customer until an operator records the refund made by hand.

A Stripe refund is asked outside any transaction, keyed by the credit note's id (Stripe's idempotency key: the
API, the CLI and the collection loop asking for one note get one refund), and its outcome recorded after: paid
(``succeeded``, Stripe's refund id as the reference) or ``failed`` with the reason, retried by the collection
loop with a growing delay, up to ``MAX_ATTEMPTS``, then left ``failed`` for an operator (listed, and paid by hand
with ``record_manual``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating.receivables import TransitionError
from streams.store import audit, receivables
from streams.store.models import CreditNoteRow

REFUND_STATUSES = ("pending", "failed", "succeeded", "owed", "recorded")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=5)
LAST_RETRY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """What Stripe is asked to pay back: ``amount`` minor units of the payment of ``stripe_invoice_id``."""

    credit_note_id: str
    credit_note_number: str
    invoice_id: str
    stripe_invoice_id: str
    amount: int
    currency: str
    reason: str


@dataclass(frozen=True, slots=True)
class RefundPaid:
    refund_id: str  # re_...
    charge: str  # the payment refunded (a PaymentIntent or a charge)


class RefundFailed(Exception):
    """Stripe refused the refund or could not be reached; ``reason`` is kept on the credit note."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Pays a refund out (``streams.dunning.refunds.stripe_refunder``); raises ``RefundFailed``.
Refunder = Callable[[RefundRequest], RefundPaid]


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a refund is asked again: 5 minutes, doubling, at most 6 hours."""
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LAST_RETRY)


def due(s: Session, now: datetime, limit: int = 100) -> list[CreditNoteRow]:
    """Stripe refunds to ask for now: pending ones, and failed ones whose retry delay passed (oldest first)."""
    q = select(CreditNoteRow).where(
        CreditNoteRow.refund_via == "stripe",
        CreditNoteRow.refund_status.in_(("pending", "failed")),
        CreditNoteRow.refund_attempts < MAX_ATTEMPTS,
    )
    rows = s.scalars(q.order_by(CreditNoteRow.created_at, CreditNoteRow.id).limit(limit * 4))
    out = [
        r
        for r in rows
        if r.refund_status == "pending"
        or r.refund_updated_at is None
        or r.refund_updated_at + retry_delay(r.refund_attempts) <= now
    ]
    return out[:limit]


def unpaid(s: Session) -> list[CreditNoteRow]:
    """Refunds not paid out yet, for the operator: owed by hand, pending or failed in Stripe (oldest first)."""
    q = select(CreditNoteRow).where(CreditNoteRow.refund_status.in_(("owed", "pending", "failed")))
    return list(s.scalars(q.order_by(CreditNoteRow.created_at, CreditNoteRow.id)))


def find(s: Session, invoice_id: str, credit_note: str, for_update: bool = False) -> CreditNoteRow | None:
    """A credit note of ``invoice_id`` by its id (``cn_...``) or number (``ML-CN-000001``); ``for_update``: the
    invoice locked before the read (``receivables.lock``), so two operators recording one refund record it once."""
    if for_update:
        receivables.lock(s, invoice_id)
    q = select(CreditNoteRow).where(
        CreditNoteRow.invoice_id == invoice_id,
        (CreditNoteRow.id == credit_note) | (CreditNoteRow.number == credit_note),
    )
    return s.scalars(q).first()


def _request(s: Session, note: CreditNoteRow) -> RefundRequest | None:
    stripe_invoice = receivables.stripe_payment_of(s, note.invoice_id)
    if stripe_invoice is None:
        return None
    return RefundRequest(
        note.id, note.number, note.invoice_id, stripe_invoice, note.refunded, note.currency, note.reason
    )


def pay_out(
    sessions: sessionmaker[Session], refund: Refunder, note_id: str, now: datetime, origin: audit.Origin
) -> CreditNoteRow:
    """Ask Stripe to pay the refund of ``note_id`` back (if it is still to be paid) and record the outcome."""
    with sessions() as s:
        note = s.get(CreditNoteRow, note_id)
        if note is None:
            raise LookupError(note_id)
        todo = note.refund_via == "stripe" and note.refund_status in ("pending", "failed")
        request = _request(s, note) if todo else None
        invoice_id = note.invoice_id
        if not todo:
            s.expunge(note)
            return note
    paid: RefundPaid | None = None
    failure = "not_paid_by_stripe"  # nothing of the invoice's payments is Stripe's (should not happen)
    if request is not None:
        try:
            paid = refund(request)
        except RefundFailed as exc:
            failure = exc.reason
    with sessions.begin() as s:
        receivables.lock(s, invoice_id)  # before the read: SQLite ignores FOR UPDATE (one outcome recorded once)
        note = s.get_one(CreditNoteRow, note_id, with_for_update=True)
        if note.refund_status in ("pending", "failed"):  # not recorded by a concurrent payer meanwhile
            note.refund_attempts += 1
            note.refund_updated_at = now
            if paid is not None:
                note.refund_status, note.refund_reference, note.refund_charge = "succeeded", paid.refund_id, paid.charge
                note.refund_failure = None
                audit.record_refund(s, note, origin, now)
            else:
                note.refund_status, note.refund_failure = "failed", failure[:500]
        s.flush()
        s.expunge(note)
    return note


def record_manual(s: Session, note: CreditNoteRow, reference: str, now: datetime, origin: audit.Origin) -> None:
    """Record a refund paid back by hand (a bank transfer): an owed one, or a Stripe one given up on."""
    if note.refund_status not in ("owed", "failed"):
        raise TransitionError(f"credit note {note.number}'s refund is {note.refund_status or 'none'}, not owed")
    note.refund_status, note.refund_reference, note.refund_updated_at = "recorded", reference, now
    if note.refund_via == "stripe":
        note.refund_failure = f"{note.refund_failure} (then paid by hand)" if note.refund_failure else None
    audit.record_refund(s, note, origin, now)
    s.flush()
