"""The PDF attached to an ``invoice_finalized`` notice (the invoice document from the warehouse, rendered by the
same renderer as ``GET /api/billing/invoices/{id}.pdf``) or a ``credit_note_issued`` one (the credit note, as
``GET .../credit-notes/{cn}/pdf`` serves it): docs/notifications.md."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from rating.catalog.loader import Catalog
from streams.api.credit_note_pdf import render_credit_note
from streams.api.invoice_pdf import buyer_of, pdf_brand, render_invoice, seller_of
from streams.api.models import InvoiceDocument
from streams.api.routes.credit_notes import credit_note_out
from streams.api.warehouse import Warehouse
from streams.notify.email import Attachment
from streams.settings import Settings
from streams.store import branding, receivables
from streams.store.models import CreditNoteRow, NoticeRow, Organization


def invoice_pdf_attachments(
    warehouse: Warehouse, settings: Settings, catalog: Catalog
) -> Callable[[Session, NoticeRow], list[Attachment]]:
    """The PDF as ``GET /api/billing/invoices/{id}.pdf`` serves it: receivable state, seller and buyer."""

    def attach(s: Session, row: NoticeRow) -> list[Attachment]:
        invoice_id = row.context.get("invoice_id")
        if row.kind not in ("invoice_finalized", "credit_note_issued") or not isinstance(invoice_id, str):
            return []
        found = warehouse.invoice(invoice_id)
        if found is None or found[0] != row.account_id:  # only the account's own invoice is ever attached
            raise LookupError(f"invoice {invoice_id} of {row.account_id} not in the warehouse yet")
        org = s.get(Organization, row.account_id)
        buyer = buyer_of(org) if org is not None else None
        doc = InvoiceDocument.model_validate(receivables.with_state(s, catalog, found[1], row.created_at.date()))
        if row.kind == "credit_note_issued":
            note = s.get(CreditNoteRow, str(row.context.get("credit_note_id")))
            if note is None or note.account_id != row.account_id or note.invoice_id != invoice_id:
                raise LookupError(f"no credit note {row.context.get('credit_note_id')} of {invoice_id}")
            pdf = render_credit_note(credit_note_out(note), doc, buyer=buyer, seller=seller_of(settings))
            return [Attachment(f"{note.number}.pdf", pdf)]
        pdf = render_invoice(
            doc,
            buyer=buyer,
            seller=seller_of(settings),
            payment_instructions=settings.invoice_payment_instructions,
            brand=pdf_brand(branding.brand_of(s, row.account_id, row.created_at)),
        )
        return [Attachment(f"{invoice_id}.pdf", pdf)]

    return attach
