"""Credit notes: corrections of a finalized invoice, never an edit (docs/invoices.md, "Credit notes").

Platform operators issue them (the seller corrects its own invoice; a customer cannot credit itself); whoever
may read the invoice reads them.
"""

from __future__ import annotations

from decimal import Decimal

from rating.money import minor_units
from rating.receivables import TransitionError
from streams.api.audit import origin
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import INVOICE_ID_PATTERN, CreditNoteIn, CreditNoteList, CreditNoteOut
from streams.api.routes.invoices import find_invoice
from streams.api.routing import Call, Endpoint
from streams.store import audit, receivables
from streams.store.models import CreditNoteRow

_TAG = "invoices"


def _out(row: CreditNoteRow) -> CreditNoteOut:
    return CreditNoteOut(
        id=row.id,
        number=row.number,
        invoice_id=row.invoice_id,
        account_id=row.account_id,
        amount=row.amount,
        credited=row.credited,
        refunded=row.refunded,
        currency=row.currency,
        reason=row.reason,
        memo=row.memo,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def issue_credit_note(call: Call) -> CreditNoteOut:
    inv_id, body = call.path["id"], call.body
    assert isinstance(body, CreditNoteIn)
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if not who.operator:
        find_invoice(call)  # 404 unless the caller may see the invoice, then:
        raise ApiError(403, "forbidden", "only a platform operator issues credit notes (the seller corrects)")
    found = call.ctx.warehouse.invoice(inv_id)
    if found is None:
        raise ApiError(404, "not_found", f"no invoice {inv_id}")
    now = call.ctx.clock()
    try:
        with call.ctx.sessions.begin() as s:
            receivables.with_state(s, call.ctx.catalog, found[1], now.date())  # opened if never read before
            note = receivables.credit_note(
                s,
                inv_id,
                minor_units(Decimal(body.amount)),
                body.reason,
                now,
                created_by=who.user_id or "operator",
                memo=body.memo,
            )
            audit.record_credit_note(s, note, origin(call, who), now)
            out = _out(note)
    except TransitionError as exc:
        raise ApiError(409, "cannot_credit", str(exc)) from exc
    except receivables.NotFinalized as exc:
        raise ApiError(409, "not_finalized", f"invoice {inv_id} is not finalized") from exc
    call.ctx.notify_outbox()
    return out


def list_credit_notes(call: Call) -> CreditNoteList:
    find_invoice(call)  # 404 unless the caller may see the invoice, 403 unless it may read it
    with call.ctx.sessions() as s:
        return CreditNoteList(credit_notes=[_out(r) for r in receivables.credit_notes(s, call.path["id"])])


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/billing/invoices/{id}/credit-notes",
        issue_credit_note,
        "Issue a credit note on a finalized invoice (platform operators only)",
        _TAG,
        CreditNoteOut,
        body=CreditNoteIn,
        status=201,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 409, 422, 503),
        description="A correction, never an edit: it first lowers what is still owed, then refunds the rest of "
        "what was paid (recorded as a refunded payment); an invoice left owing nothing is paid. Numbered "
        "ML-CN-000001 without gaps. 409 cannot_credit when it exceeds what the invoice collects, or the invoice "
        "is void. Only a platform JWT with meterline_operator=true may issue one (docs/security.md).",
    ),
    Endpoint(
        "GET",
        "/api/billing/invoices/{id}/credit-notes",
        list_credit_notes,
        "Credit notes of a finalized invoice",
        _TAG,
        CreditNoteList,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
