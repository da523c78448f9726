"""The PDF attached to an ``invoice_finalized`` notice: the invoice document from the warehouse, rendered by the
same renderer as ``GET /api/billing/invoices/{id}/pdf`` (docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from rating.catalog.loader import Catalog
from streams.api.invoice_pdf import buyer_of, render_invoice, seller_of
from streams.api.models import InvoiceDocument
from streams.api.warehouse import Warehouse
from streams.notify.email import Attachment
from streams.settings import Settings
from streams.store import receivables
from streams.store.models import NoticeRow, Organization


def invoice_pdf_attachments(
    warehouse: Warehouse, settings: Settings, catalog: Catalog
) -> Callable[[Session, NoticeRow], list[Attachment]]:
    """The PDF as ``GET /api/billing/invoices/{id}.pdf`` serves it: receivable state, seller and buyer."""

    def attach(s: Session, row: NoticeRow) -> list[Attachment]:
        invoice_id = row.context.get("invoice_id")
        if row.kind != "invoice_finalized" or not isinstance(invoice_id, str):
            return []
        found = warehouse.invoice(invoice_id)
        if found is None or found[0] != row.account_id:  # only the account's own invoice is ever attached
            raise LookupError(f"invoice {invoice_id} of {row.account_id} not in the warehouse yet")
        org = s.get(Organization, row.account_id)
        doc = InvoiceDocument.model_validate(receivables.with_state(s, catalog, found[1], row.created_at.date()))
        pdf = render_invoice(
            doc,
            buyer=buyer_of(org) if org is not None else None,
            seller=seller_of(settings),
            payment_instructions=settings.invoice_payment_instructions,
        )
        return [Attachment(f"{invoice_id}.pdf", pdf)]

    return attach
