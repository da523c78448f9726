"""Credit notes: corrections of a finalized invoice, never an edit (docs/invoices.md, "Credit notes").

Platform operators issue them (the seller corrects its own invoice; a customer cannot credit itself); whoever
may read the invoice reads them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from rating.money import minor_units
from rating.receivables import TransitionError
from streams.api.audit import origin
from streams.api.common import caller
from streams.api.credit_note_pdf import render_credit_note
from streams.api.errors import ApiError
from streams.api.invoice_pdf import Party, seller_of
from streams.api.models import (
    CREDIT_NOTE_REF_PATTERN,
    INVOICE_ID_PATTERN,
    CreditNoteIn,
    CreditNoteList,
    CreditNoteOut,
    InvoiceDocument,
    RefundIn,
    dump,
)
from streams.api.routes.invoices import PDF, find_invoice
from streams.api.routing import Call, Endpoint
from streams.http_json import JSON
from streams.store import audit, receivables, refunds
from streams.store.models import CreditNoteRow
from streams.store.refunds import Refunder

_TAG = "invoices"


def credit_note_out(row: CreditNoteRow) -> CreditNoteOut:
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
        refund_via=row.refund_via,  # type: ignore[arg-type]
        refund_status=row.refund_status,  # type: ignore[arg-type]
        refund_reference=row.refund_reference,
        refund_failure=row.refund_failure,
    )


def _refunder(call: Call) -> Refunder:
    from streams.dunning.refunds import stripe_refunder

    return stripe_refunder(call.ctx.stripe)


def _idempotency_key(call: Call) -> str | None:
    key = call.request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ApiError(422, "invalid_request", "Idempotency-Key must be 1 to 255 characters")
    return key


def _same_request(note: CreditNoteRow, amount: int, body: CreditNoteIn) -> CreditNoteRow:
    """The note issued before under this key, if this request asks for the same (else 409: a reused key)."""
    if (note.amount, note.reason, note.memo) != (amount, body.reason, body.memo):
        raise ApiError(
            409,
            "idempotency_conflict",
            f"the Idempotency-Key issued credit note {note.number} with other parameters: use a new key",
        )
    return note


def issue_credit_note(call: Call) -> CreditNoteOut | Response:
    inv_id, body = call.path["id"], call.body
    assert isinstance(body, CreditNoteIn)
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if not who.operator:
        find_invoice(call)  # 404 unless the caller may see the invoice, then:
        raise ApiError(403, "forbidden", "only a platform operator issues credit notes (the seller corrects)")
    key = _idempotency_key(call)
    found = call.ctx.warehouse.invoice(inv_id)
    if found is None:
        raise ApiError(404, "not_found", f"no invoice {inv_id}")
    now, amount, again = call.ctx.clock(), minor_units(Decimal(body.amount)), False
    try:
        with call.ctx.sessions.begin() as s:
            receivables.with_state(s, call.ctx.catalog, found[1], now.date())  # opened if never read before
            try:
                note = receivables.credit_note(
                    s, inv_id, amount, body.reason, now, created_by=who.user_id or "operator", memo=body.memo, key=key
                )
                audit.record_credit_note(s, note, origin(call, who), now)
            except receivables.AlreadyCredited as done:  # a retry: the note issued the first time
                note, again = _same_request(done.note, amount, body), True
            out = credit_note_out(note)
    except TransitionError as exc:
        raise ApiError(409, "cannot_credit", str(exc)) from exc
    except receivables.NotFinalized as exc:
        raise ApiError(409, "not_finalized", f"invoice {inv_id} is not finalized") from exc
    except IntegrityError:  # a concurrent request with the same key committed first
        with call.ctx.sessions() as s:
            first = receivables.credited_with(s, inv_id, key) if key is not None else None
            if first is None:
                raise
            out, again = credit_note_out(_same_request(first, amount, body)), True
    call.ctx.notify_outbox()
    if out.refund_status == "pending":  # paid back through Stripe now; a failure is kept and retried by the loop
        out = credit_note_out(refunds.pay_out(call.ctx.sessions, _refunder(call), out.id, now, origin(call, who)))
    return JSON(dump(out), status_code=200) if again else out


def _note_of_readable_invoice(call: Call) -> tuple[CreditNoteRow, InvoiceDocument, Party | None]:
    _, doc, buyer = find_invoice(call)  # 404 unless the caller may see the invoice, 403 unless it may read it
    with call.ctx.sessions() as s:
        note = refunds.find(s, call.path["id"], call.path["cn"])
    if note is None:
        raise ApiError(404, "not_found", f"no credit note {call.path['cn']} on invoice {call.path['id']}")
    return note, doc, buyer


def credit_note_pdf(call: Call) -> Response:
    note, doc, buyer = _note_of_readable_invoice(call)
    pdf = render_credit_note(credit_note_out(note), doc, buyer=buyer, seller=seller_of(call.ctx.settings))
    return Response(pdf, media_type=PDF, headers={"content-disposition": f'inline; filename="{note.number}.pdf"'})


def refund_credit_note(call: Call) -> CreditNoteOut:
    """An operator records a refund paid by hand (``reference``), or asks Stripe again for a failed one."""
    body = call.body
    assert isinstance(body, RefundIn)
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if not who.operator:
        find_invoice(call)
        raise ApiError(403, "forbidden", "only a platform operator pays refunds out")
    now, inv_id, cn = call.ctx.clock(), call.path["id"], call.path["cn"]
    with call.ctx.sessions.begin() as s:
        note = refunds.find(s, inv_id, cn, for_update=True)
        if note is None:
            raise ApiError(404, "not_found", f"no credit note {cn} on invoice {inv_id}")
        if body.reference is not None:
            try:
                refunds.record_manual(s, note, body.reference, now, origin(call, who))
            except TransitionError as exc:
                raise ApiError(409, "cannot_refund", str(exc)) from exc
            return credit_note_out(note)
        if note.refund_via != "stripe" or note.refund_status not in ("pending", "failed"):
            raise ApiError(
                409,
                "cannot_refund",
                f"credit note {note.number}'s refund is {note.refund_status or 'none'}: "
                "give the reference of a refund paid by hand",
            )
        note_id = note.id
    return credit_note_out(refunds.pay_out(call.ctx.sessions, _refunder(call), note_id, now, origin(call, who)))


def list_credit_notes(call: Call) -> CreditNoteList:
    find_invoice(call)  # 404 unless the caller may see the invoice, 403 unless it may read it
    with call.ctx.sessions() as s:
        return CreditNoteList(credit_notes=[credit_note_out(r) for r in receivables.credit_notes(s, call.path["id"])])


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
        "what was paid (recorded as a refunded payment; paid back through Stripe Refunds at once when Stripe "
        "collected the invoice, else owed until recorded: see refund_status); an invoice left owing nothing is "
        "paid. Numbered "
        "ML-CN-000001 without gaps. 409 cannot_credit when it exceeds what the invoice collects, or the invoice "
        "is void. Only a platform JWT with meterline_operator=true may issue one (docs/security.md). An "
        "Idempotency-Key header (1-255 characters) makes a retry safe: the same key on the same invoice answers 200 "
        "with the note issued the first time; with other parameters, 409 idempotency_conflict.",
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
    Endpoint(
        "GET",
        "/api/billing/invoices/{id}/credit-notes/{cn}/pdf",
        credit_note_pdf,
        "A credit note as a PDF (by its id or number)",
        _TAG,
        None,
        path_params={"id": INVOICE_ID_PATTERN, "cn": CREDIT_NOTE_REF_PATTERN},
        errors=(401, 403, 404, 503),
        media={PDF: {"type": "string", "format": "binary"}},
        media_only=True,
    ),
    Endpoint(
        "POST",
        "/api/billing/invoices/{id}/credit-notes/{cn}/refund",
        refund_credit_note,
        "Record a credit note's refund paid by hand, or retry its Stripe refund (platform operators only)",
        _TAG,
        CreditNoteOut,
        body=RefundIn,
        body_optional=True,
        path_params={"id": INVOICE_ID_PATTERN, "cn": CREDIT_NOTE_REF_PATTERN},
        errors=(401, 403, 404, 409, 422, 503),
        description="With a reference: a refund owed to the customer (or a Stripe refund given up on) paid back by "
        "hand is recorded (refund_status recorded). Without: a pending or failed Stripe refund is asked again "
        '(keyed by the credit note id, so it is paid once). docs/invoices.md, "Refunds".',
    ),
]
