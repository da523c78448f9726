"""Credit notes in the billing store (docs/invoices.md, "Credit notes"): a correction of a finalized invoice is
a numbered credit note (``ML-CN-000001``, gapless per seller like invoice numbers), never an edit; a
``pre_payment`` one lowers what the invoice owes through ``rating.receivables.credit`` and its history.
Callers own the transaction."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rating import receivables as rc
from streams.store import receivables
from streams.store.models import CreditNoteRow

REASONS = ("correction", "duplicate", "fraudulent", "order_change", "product_unsatisfactory")


def sequence_of(seller: str) -> str:
    """The counter of a seller's credit notes (beside its invoices' in ``invoice_number_counters``)."""
    return f"{seller}-CN"


def issue(
    s: Session,
    invoice_id: str,
    amount: int,
    reason: str,
    at: datetime,
    *,
    created_by: str,
    memo: str | None = None,
) -> CreditNoteRow:
    """Credit ``amount`` minor units on ``invoice_id`` (``NotFinalized`` when it has no receivable,
    ``TransitionError`` when it may not be credited that much; then nothing is written, no number taken)."""
    if reason not in REASONS:
        raise ValueError(f"unknown credit note reason {reason!r} ({', '.join(REASONS)})")
    row = receivables.get(s, invoice_id, for_update=True)
    already = s.scalar(
        select(func.coalesce(func.sum(CreditNoteRow.amount), 0)).where(
            CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.kind == "post_payment"
        )
    )
    new, kind = rc.credit(receivables.state(row), amount, int(already or 0))
    seller = sequence_of(row.seller)
    sequence = receivables.next_number(s, seller)
    note = CreditNoteRow(
        id="cn_" + secrets.token_hex(12),
        invoice_id=invoice_id,
        account_id=row.account_id,
        seller=seller,
        sequence=sequence,
        number=receivables.number_format(seller, sequence),
        currency=row.currency,
        amount=amount,
        kind=kind,
        reason=reason,
        memo=memo,
        created_by=created_by,
        at=at,
    )
    s.add(note)
    s.flush()
    if kind == "pre_payment":
        receivables.record_state(s, row, new, f"credit_note:{note.number}", at)
    return note


def of_invoice(s: Session, invoice_id: str) -> list[CreditNoteRow]:
    q = select(CreditNoteRow).where(CreditNoteRow.invoice_id == invoice_id)
    return list(s.scalars(q.order_by(CreditNoteRow.sequence)))


def get(s: Session, credit_note_id: str) -> CreditNoteRow | None:
    return s.get(CreditNoteRow, credit_note_id)
