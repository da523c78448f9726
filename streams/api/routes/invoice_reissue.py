"""``POST /api/billing/invoices/{id}/reissue``: a void invoice reissued under its own id and number
(docs/invoices.md, "Reissuing"). Platform operators only, like credit notes: the seller reissues its own invoice."""

from __future__ import annotations

from starlette.responses import Response

from rating.receivables import TransitionError
from streams.api.audit import origin
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import INVOICE_ID_PATTERN, InvoiceDocument, dump
from streams.api.reissue import reissue_invoice
from streams.api.routes.invoices import find_invoice, operator_document
from streams.api.routing import Call, Endpoint
from streams.http_json import JSON


def reissue(call: Call) -> Response:
    inv_id = call.path["id"]
    with call.ctx.sessions() as s:
        who = caller(call, s)
    if not who.operator:
        find_invoice(call)  # 404 unless the caller may see the invoice, then:
        raise ApiError(403, "forbidden", "only a platform operator reissues an invoice (the seller issues)")
    try:
        row, created = reissue_invoice(
            call.ctx.sessions, call.ctx.warehouse, call.ctx.catalog, inv_id, call.ctx.clock(), origin(call, who)
        )
    except LookupError as exc:
        raise ApiError(404, "not_found", f"no invoice {inv_id}") from exc
    except TransitionError as exc:
        raise ApiError(409, "cannot_reissue", f"invoice {inv_id} cannot be reissued: {exc}") from exc
    call.ctx.notify_outbox()
    doc = operator_document(call, row.invoice_id)
    return JSON(dump(doc), status_code=201 if created else 200)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/billing/invoices/{id}/reissue",
        reissue,
        "Reissue a void invoice under its own id and number (platform operators only)",
        "invoices",
        InvoiceDocument,
        status=201,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 409, 503),
        description="A void invoice (or an open one with nothing paid, voided now) is reissued as <id>-r<n> with "
        "the seller's next number, issued now and due by its payment terms, for what the void one collected; the "
        "void one names it in reissued_as, the reissue names the void one in reissue_of. Once: asking again "
        "answers 200 with the same reissue. 409 cannot_reissue when the invoice is paid, uncollectible or holds "
        "payments. Only a platform JWT with meterline_operator=true may reissue (docs/security.md).",
    ),
]
