"""Reissuing a void invoice (docs/invoices.md, "Reissuing"): the billing store's reissue (a new id, number, issue
and due date, linked both ways) and the reissue's own document in the warehouse (``invoice_reissues``), for the
API and the CLI alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from rating.catalog.loader import Catalog
from rating.receivables import TransitionError
from sinks.clickhouse.settlement.invoices import reissue_id
from sinks.clickhouse.usage_queries import SettledReads
from streams.store import audit, receivables
from streams.store.models import InvoiceReceivableRow


def reissue_invoice(
    sessions: sessionmaker[Session],
    warehouse: SettledReads,
    catalog: Catalog,
    invoice_id: str,
    now: datetime,
    origin: audit.Origin,
) -> tuple[InvoiceReceivableRow, bool]:
    """Reissue ``invoice_id`` (void, or open with nothing paid: voided now) and whether this call did it: a void
    invoice reissued already answers with its reissue, so a retry after a lost answer or a failed warehouse write
    completes it. The store commits first, then the document is written (idempotent): a document never exists
    without its receivable. Raises ``LookupError`` for an unknown invoice, ``TransitionError`` when it cannot be
    reissued, ``WarehouseUnavailable`` when the document cannot be written (retry)."""
    found = warehouse.invoice(invoice_id)
    if found is None:
        raise LookupError(f"no invoice {invoice_id}")
    try:
        new_id = reissue_id(invoice_id)
    except ValueError as exc:  # -r999 reissued again
        raise TransitionError(str(exc)) from exc
    with sessions.begin() as s:
        receivables.with_state(s, catalog, found[1], now.date())  # opened if never read before
    created = True
    try:
        with sessions.begin() as s:  # reissue() writes first (receivables.lock): concurrent ones queue
            try:
                row = receivables.reissue(s, invoice_id, new_id, None, now, period=found[1].get("period"))
                audit.record_reissue(s, row, origin, now)
            except receivables.AlreadyReissued as done:
                row, created = done.row, False
            s.expunge(row)
    except IntegrityError:  # a concurrent reissue of the same invoice committed first (its id is the same)
        with sessions() as s:
            winner = receivables.reissued_as(s, invoice_id)
            if winner is None:
                raise
            s.expunge(winner)
        row, created = winner, False
    warehouse.write_reissue(row.invoice_id, invoice_id, row.issued_at)
    return row, created
