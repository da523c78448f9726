"""``/api/billing/invoices/{id}/credit-notes``: corrections of a finalized invoice as numbered credit notes
(docs/invoices.md, "Credit notes"). Platform operators issue them (the seller corrects its own invoice; a
buyer's admin may not credit itself); whoever reads the invoice reads them."""

from __future__ import annotations

from rating.receivables import TransitionError
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import INVOICE_ID_PATTERN, CreditNoteIn, CreditNoteList, CreditNoteOut
from streams.api.routes.invoices import find_invoice
from streams.api.routing import Call, Endpoint
from streams.store import credit_notes, receivables
from streams.store.models import CreditNoteRow

_PATH = "/api/billing/invoices/{id}/credit-notes"
_TAG = "invoices"


def _out(row: CreditNoteRow) -> CreditNoteOut:
    return CreditNoteOut.model_validate(row, from_attributes=True)


def _visible(call: Call) -> None:
    """404 unless the caller may see the invoice (an operator sees every finalized one), 403 unless it may read
    it."""
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if who.operator:
        if call.ctx.warehouse.invoice(call.path["id"]) is None:
            raise ApiError(404, "not_found", f"no invoice {call.path['id']}")
        return
    find_invoice(call)  # opens the receivable on first sight, as reading the invoice does


def create_credit_note(call: Call) -> CreditNoteOut:
    body: CreditNoteIn = call.body
    inv_id = call.path["id"]
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if not who.operator:
        find_invoice(call)  # 404 to whoever may not see the invoice
        raise ApiError(403, "forbidden", "only a platform operator issues credit notes")
    found = call.ctx.warehouse.invoice(inv_id)
    if found is None:
        raise ApiError(404, "not_found", f"no invoice {inv_id}")
    with call.ctx.sessions.begin() as s:
        if found[1].get("status") == "final":  # opened on first sight, as reading the invoice does
            receivables.open_document(s, call.ctx.catalog, found[1])
        try:
            row = credit_notes.issue(
                s,
                inv_id,
                body.amount,
                body.reason,
                call.ctx.clock(),
                created_by=f"operator:{who.user_id}",
                memo=body.memo,
            )
        except receivables.NotFinalized as exc:
            raise ApiError(409, "not_finalized", f"invoice {inv_id} is a draft: nothing to credit") from exc
        except TransitionError as exc:
            raise ApiError(409, "not_creditable", str(exc)) from exc
        return _out(row)


def list_credit_notes(call: Call) -> CreditNoteList:
    _visible(call)
    with call.ctx.sessions() as s:
        return CreditNoteList(credit_notes=[_out(r) for r in credit_notes.of_invoice(s, call.path["id"])])


ENDPOINTS = [
    Endpoint(
        "POST",
        _PATH,
        create_credit_note,
        "Correct a finalized invoice with a credit note (platform operators only)",
        _TAG,
        CreditNoteOut,
        status=201,
        body=CreditNoteIn,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 409, 503),
        description="A finalized invoice is never edited: a credit note numbered per seller (ML-CN-000001) lowers "
        "what an owed invoice asks (pre_payment; crediting all that remains makes it paid) or, on a paid invoice, "
        "is owed back to the buyer (post_payment, at most what was paid). 409 not_creditable for a void invoice "
        "or more than may be credited.",
    ),
    Endpoint(
        "GET",
        _PATH,
        list_credit_notes,
        "The credit notes of a finalized invoice",
        _TAG,
        CreditNoteList,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
