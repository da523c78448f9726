"""The PDF attached to an ``invoice_finalized`` notice: the invoice document from the warehouse, rendered by the
same renderer as ``GET /api/billing/invoices/{id}/pdf`` (docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from streams.api.invoice_pdf import render_invoice
from streams.api.models import InvoiceDocument
from streams.api.warehouse import Warehouse
from streams.notify.email import Attachment
from streams.store.models import NoticeRow, Organization


def invoice_pdf_attachments(warehouse: Warehouse) -> Callable[[Session, NoticeRow], list[Attachment]]:
    def attach(s: Session, row: NoticeRow) -> list[Attachment]:
        invoice_id = row.context.get("invoice_id")
        if row.kind != "invoice_finalized" or not isinstance(invoice_id, str):
            return []
        found = warehouse.invoice(invoice_id)
        if found is None or found[0] != row.account_id:  # only the account's own invoice is ever attached
            raise LookupError(f"invoice {invoice_id} of {row.account_id} not in the warehouse yet")
        org = s.get(Organization, row.account_id)
        doc = InvoiceDocument.model_validate(found[1])
        return [Attachment(f"{invoice_id}.pdf", render_invoice(doc, account_name=org.name if org else None))]

    return attach
