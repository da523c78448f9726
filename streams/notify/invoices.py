"""The notice and webhook event of a finalized invoice (docs/notifications.md): written by the store when an
invoice's receivable opens — whoever opens it first (the collection loop's intake, the API, the CLI)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.notify.stripe_events import amount_text
from streams.store.models import CreditNoteRow, InvoiceReceivableRow, Organization, PaymentRow


def invoice_finalized(s: Session, row: InvoiceReceivableRow, period: str | None, now: datetime) -> None:
    """One ``invoice_finalized`` email (the PDF attached by the relay) and one ``invoice.finalized`` event."""
    context: dict[str, object] = {
        "invoice_id": row.invoice_id,
        "invoice_number": row.number,
        "period": period or row.issued_at.date().isoformat(),
        "amount_due": amount_text(row.amount_due, row.currency.lower()),
        "currency": row.currency.upper(),
        "due_date": row.due_date.isoformat(),
    }
    enqueue_notice(s, "invoice_finalized", row.account_id, f"invoice_finalized:{row.invoice_id}", context, now)
    if s.get(Organization, row.account_id) is not None:
        data = {"account_id": row.account_id, **context}
        enqueue_event(s, row.account_id, "invoice.finalized", f"msg_finalized_{row.invoice_id}", data, now)


def payment_received(s: Session, row: InvoiceReceivableRow, payment: PaymentRow, now: datetime) -> None:
    """A payment the store recorded itself (the operator's wire transfer, the API's ``pay``, a dunning retry):
    a ``payment_succeeded`` email per payment, and ``invoice.paid`` once the invoice is paid in full. Stripe's
    own payments are told from its webhooks (``stripe_events.payment_event``), a dunning retry's email by its
    step (``streams.dunning.runner``), so neither is told twice."""
    context: dict[str, object] = {
        "invoice_id": row.invoice_id,
        "invoice_number": row.number,
        "amount": amount_text(payment.amount, row.currency.lower()),
        "currency": row.currency.upper(),
        "method": payment.method,
        "reference": payment.reference,
        "amount_remaining": amount_text(row.amount_due - row.amount_paid, row.currency.lower()),
    }
    if payment.source != "dunning":
        enqueue_notice(s, "payment_succeeded", row.account_id, f"payment_succeeded:{payment.id}", context, now)
    if row.status == "paid" and s.get(Organization, row.account_id) is not None:
        data = {"account_id": row.account_id, **context}
        enqueue_event(s, row.account_id, "invoice.paid", f"msg_paid_{row.invoice_id}", data, now)


def credit_note_issued(s: Session, row: InvoiceReceivableRow, note: CreditNoteRow, now: datetime) -> None:
    """One ``credit_note_issued`` email per credit note, its PDF attached by the relay."""
    cur = row.currency.lower()
    context: dict[str, object] = {
        "invoice_id": row.invoice_id,
        "invoice_number": row.number,
        "credit_note_id": note.id,
        "credit_note_number": note.number,
        "amount": amount_text(note.amount, cur),
        "credited": amount_text(note.credited, cur),
        "refunded": amount_text(note.refunded, cur),
        "refund_via": note.refund_via,
        "currency": row.currency.upper(),
        "reason": note.reason,
        "memo": note.memo,
    }
    enqueue_notice(s, "credit_note_issued", row.account_id, f"credit_note_issued:{note.id}", context, now)
