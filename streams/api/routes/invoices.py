"""``/api/billing/invoices``: finalized invoices from ClickHouse (as JSON or a PDF), the upcoming (draft)
invoice of the current period computed by settlement from the usage settled so far, and paying a
finalized invoice mirrored in Stripe."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from streams.api.audit import audit_change
from streams.api.auth import READ_ALL, Principal, require_role
from streams.api.common import caller, invoice_reader, invoiced_period_now, store_histories
from streams.api.errors import ApiError
from streams.api.invoice_pdf import Party, buyer_of, pdf_brand, render_invoice, seller_of
from streams.api.limits import stripe_limit
from streams.api.models import (
    INVOICE_ID_PATTERN,
    ORG_ID_PATTERN,
    AccountQuery,
    InvoiceDocument,
    InvoiceList,
    InvoiceListQuery,
    InvoicePayment,
    InvoiceSummary,
    PaymentList,
    PaymentListQuery,
    PaymentOut,
)
from streams.api.routing import Call, Endpoint
from streams.store import branding, receivables
from streams.store.addons import store_addons
from streams.store.credits import store_credits
from streams.store.memberships import store_memberships
from streams.store.models import InvoicePaymentRow, Organization, PaymentRow

log = logging.getLogger(__name__)
_TAG = "invoices"
PDF = "application/pdf"


def _org_accounts(s: Session, org_id: str) -> list[str]:
    """The accounts billed to an organization: the organization's own. Its members' personal accounts are
    theirs alone (``auth.account_access``), even when an organization once made their subscription."""
    return [org_id]


def _receivables(call: Call, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents with their receivable state from the billing store (``receivables.with_state``)."""
    today = call.ctx.clock().date()
    with call.ctx.sessions.begin() as s:
        return [receivables.with_state(s, call.ctx.catalog, doc, today) for doc in docs]


def _listed(call: Call, accounts: list[str]) -> InvoiceList:
    docs = _receivables(call, call.ctx.warehouse.invoices(accounts))
    return InvoiceList(invoices=[InvoiceSummary(**d) for d in docs])


def _listed_accounts(s: Session, who: Principal, account: str | None) -> list[str]:
    """The accounts a list names: the one asked for if the caller may read it, else the caller's organization's
    (its readers), else a personal token's own account."""
    if account is not None:
        invoice_reader(s, who, account)
        return [account]
    if who.organization_id is not None:
        require_role(s, who, who.organization_id, READ_ALL)
        return _org_accounts(s, who.organization_id)
    assert who.user_id is not None  # a token without 'org': the user's own account
    return [invoice_reader(s, who, who.user_id).account_id]


def list_invoices(call: Call) -> InvoiceList:
    q: InvoiceListQuery = call.query
    with call.ctx.sessions() as s:
        who = caller(call, s)
        accounts = _listed_accounts(s, who, q.account)
    return InvoiceList(
        invoices=[InvoiceSummary(**d) for d in _receivables(call, call.ctx.warehouse.invoices(accounts))]
    )


def organization_invoices(call: Call) -> InvoiceList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], READ_ALL)
        accounts = _org_accounts(s, call.path["id"])
    return InvoiceList(
        invoices=[InvoiceSummary(**d) for d in _receivables(call, call.ctx.warehouse.invoices(accounts))]
    )


def _wants_pdf(accept: str) -> bool:
    """Whether an Accept header prefers a PDF to JSON (by q-value; a tie goes to JSON)."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))

    def weight(media: str) -> float:
        kind = media.split("/")[0]
        return weights.get(media, weights.get(f"{kind}/*", weights.get("*/*", 0.0)))

    return PDF in weights and weight(PDF) > 0 and weight(PDF) > weight("application/json")


def _pdf_response(call: Call, doc: InvoiceDocument, buyer: Party | None) -> Response:
    name = doc.invoice_id or doc.account_id
    settings = call.ctx.settings
    with call.ctx.sessions() as s:
        brand = pdf_brand(branding.brand_of(s, doc.account_id, call.ctx.clock()))
    return Response(
        render_invoice(
            doc,
            buyer=buyer,
            seller=seller_of(settings),
            payment_instructions=settings.invoice_payment_instructions,
            brand=brand,
        ),
        media_type=PDF,
        headers={"content-disposition": f'inline; filename="{name}.pdf"'},
    )


def find_invoice(call: Call, manage: bool = False) -> tuple[Principal, InvoiceDocument, Party | None]:
    """The caller, the invoice document of ``{id}`` and its account's organization as billed (404 when the caller
    may not see it; 403 when it may see it but not read it, or with ``manage``, not pay it)."""
    inv_id = call.path["id"]
    with call.ctx.sessions() as s:
        who = caller(call, s)  # before ClickHouse is asked anything (docs/security.md)
    found = call.ctx.warehouse.invoice(inv_id)
    with call.ctx.sessions() as s:
        if found is None:
            raise ApiError(404, "not_found", f"no invoice {inv_id}")
        try:
            seen = invoice_reader(s, who, found[0])
            if manage and not seen.manages:
                raise ApiError(403, "forbidden", f"the role {seen.role} may not do this (owners and admins only)")
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, "not_found", f"no invoice {inv_id}") from exc
            raise
        org = s.get(Organization, found[0])
        buyer = buyer_of(org) if org is not None else None
    return who, InvoiceDocument.model_validate(_receivables(call, [found[1]])[0]), buyer


def operator_document(call: Call, inv_id: str) -> InvoiceDocument:
    """The invoice document of ``inv_id`` with its receivable state, for a platform operator (who reads every
    account's: checked by the caller)."""
    found = call.ctx.warehouse.invoice(inv_id)
    if found is None:
        raise ApiError(404, "not_found", f"no invoice {inv_id}")
    return InvoiceDocument.model_validate(_receivables(call, [found[1]])[0])


def get_invoice(call: Call) -> InvoiceDocument | Response:
    _, doc, name = find_invoice(call)
    if _wants_pdf(call.request.headers.get("accept", "")):
        return _pdf_response(call, doc, name)
    return doc


def get_invoice_pdf(call: Call) -> Response:
    _, doc, name = find_invoice(call)
    return _pdf_response(call, doc, name)


def _payment_out(row: InvoicePaymentRow) -> InvoicePayment:
    return InvoicePayment(
        invoice_id=row.invoice_id,
        account_id=row.account_id,
        stripe_invoice_id=row.stripe_invoice_id,
        status=row.status,
        amount_paid=row.amount_paid,
        currency=row.currency,
        paid_at=row.paid_at,
        paid_by=row.paid_by,
    )


def _already_paid(inv_id: str, row: InvoicePaymentRow) -> ApiError:
    return ApiError(409, "already_paid", f"invoice {inv_id} was paid at {row.paid_at.isoformat()} by {row.paid_by}")


def pay_invoice(call: Call) -> InvoicePayment:
    """Pay a finalized invoice through its Stripe mirror, once: the payment is recorded in the store and a
    second request answers 409 already_paid. The Stripe call carries an idempotency key of the invoice, so a
    retry after a lost answer (or a crash before the record) is paid once."""
    from streams.settlement.job import stripe_client
    from streams.settlement.stripe_invoicing import invoice_identifier

    inv_id = call.path["id"]
    who, doc, _ = find_invoice(call, manage=True)
    stripe_limit(call.ctx.limits, doc.account_id, call.ctx.clock().timestamp())
    with call.ctx.sessions() as s:
        paid = s.get(InvoicePaymentRow, inv_id)
        if paid is not None:
            raise _already_paid(inv_id, paid)
    if doc.status not in ("open", "uncollectible"):
        raise ApiError(409, "not_open", f"invoice {inv_id} is {doc.status}, not owed")
    stripe_id = call.ctx.warehouse.stripe_invoice(inv_id)
    if stripe_id is None:
        raise ApiError(409, "not_in_stripe", f"invoice {inv_id} is not mirrored in Stripe (not pushed yet)")
    client = stripe_client(call.ctx.settings)
    try:
        invoice = client.v1.invoices.pay(stripe_id, options={"idempotency_key": f"{invoice_identifier(inv_id)}-pay"})
    except stripe.CardError as exc:
        with call.ctx.sessions.begin() as s:  # the failed attempt is kept, with Stripe's reason
            owed = receivables.state(receivables.get(s, inv_id)).amount_remaining
            receivables.record_payment(
                s,
                inv_id,
                max(owed, 1),
                "card",
                call.ctx.clock(),
                source="api",
                recorded_by=who.user_id if who.user_id is not None else f"key:{who.key_id}",
                reference=stripe_id,
                failure_reason=str(exc.code or exc.user_message or "card_declined"),
            )
        raise ApiError(402, "payment_declined", f"Stripe declined the payment: {exc.user_message or exc}") from exc
    except stripe.InvalidRequestError as exc:
        # Paid already in Stripe (e.g. a crash after the payment, its idempotency key expired): record it.
        refused = ApiError(409, "stripe_refused", f"Stripe refused the payment: {exc.user_message or exc}")
        try:
            invoice = client.v1.invoices.retrieve(stripe_id)
        except stripe.StripeError:
            raise refused from exc
        if invoice.status != "paid":
            raise refused from exc
    except stripe.StripeError as exc:
        log.warning("cannot pay %s (%s) in Stripe: %s", inv_id, stripe_id, exc)
        raise ApiError(503, "stripe_unavailable", "Stripe did not answer, retry later", {"Retry-After": "5"}) from exc
    row = InvoicePaymentRow(
        invoice_id=inv_id,
        account_id=doc.account_id,
        stripe_invoice_id=stripe_id,
        status=str(invoice.status or "unknown"),
        amount_paid=int(invoice.amount_paid or 0),
        currency=str(invoice.currency or doc.currency),
        paid_by=who.user_id if who.user_id is not None else f"key:{who.key_id}",
        paid_at=call.ctx.clock(),
    )
    try:
        with call.ctx.sessions.begin() as s:
            s.add(row)
            s.flush()
            if s.get(Organization, doc.account_id) is not None:
                after = {"amount_paid": row.amount_paid, "currency": row.currency, "stripe_invoice_id": stripe_id}
                audit_change(
                    call,
                    s,
                    who,
                    doc.account_id,
                    "invoice.paid",
                    target=inv_id,
                    before={"status": doc.status},
                    after=after,
                )
            owed = receivables.state(receivables.get(s, inv_id, for_update=True)).amount_remaining
            # Stripe's pay either collects the whole invoice (this invoice's total) or raises: what is owed is settled.
            if owed > 0:
                receivables.record_payment(
                    s, inv_id, owed, "card", row.paid_at, source="api", recorded_by=row.paid_by, reference=stripe_id
                )
    except IntegrityError as exc:  # a concurrent request recorded it first
        with call.ctx.sessions() as s:
            other = s.get(InvoicePaymentRow, inv_id)
        if other is None:
            raise
        raise _already_paid(inv_id, other) from exc
    return _payment_out(row)


def _payments_out(rows: list[PaymentRow]) -> PaymentList:
    return PaymentList(
        payments=[
            PaymentOut(
                id=p.id,
                invoice_id=p.invoice_id,
                account_id=p.account_id,
                amount=p.amount,
                currency=p.currency,
                method=p.method,
                reference=p.reference,
                status=p.outcome,  # type: ignore[arg-type]
                failure_reason=p.failure_reason,
                source=p.source,
                at=p.at,
            )
            for p in rows
        ]
    )


def list_payments(call: Call) -> PaymentList:
    """Payment attempts on the invoices of the accounts the caller may read (as ``list_invoices``)."""
    q: PaymentListQuery = call.query
    for name, value in (("since", q.since), ("until", q.until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "invalid_request", f"{name} needs a time zone (RFC 3339)")
    with call.ctx.sessions() as s:
        who = caller(call, s)
        accounts = _listed_accounts(s, who, q.account)
        sel = select(PaymentRow).where(PaymentRow.account_id.in_(accounts))
        if q.invoice is not None:
            sel = sel.where(PaymentRow.invoice_id == q.invoice)
        if q.status is not None:
            sel = sel.where(PaymentRow.outcome == q.status)
        if q.period is not None:  # invoice ids end with their period, a reissue's with -r<n> after it
            ends = (f"%\\_{q.period}", f"%\\_{q.period}-r%")
            sel = sel.where(or_(*(PaymentRow.invoice_id.like(e, escape="\\") for e in ends)))
        if q.since is not None:
            sel = sel.where(PaymentRow.at >= q.since)
        if q.until is not None:
            sel = sel.where(PaymentRow.at < q.until)
        return _payments_out(list(s.scalars(sel.order_by(PaymentRow.at.desc(), PaymentRow.id).limit(1000))))


def invoice_payments(call: Call) -> PaymentList:
    find_invoice(call)  # 404 unless the caller may see the invoice, 403 unless it may read it
    with call.ctx.sessions() as s:
        return _payments_out(receivables.payments(s, call.path["id"]))


def upcoming_invoice(call: Call) -> InvoiceDocument:
    q: AccountQuery = call.query
    period = invoiced_period_now(call, q.account)

    sessions = call.ctx.sessions
    doc = call.ctx.warehouse.upcoming(
        call.ctx.catalog,
        store_histories(sessions),
        q.account,
        period,
        store_addons(sessions),
        store_credits(sessions),
        store_memberships(sessions),
    )
    if doc is None:
        raise ApiError(404, "not_found", f"no invoice for {q.account} in {period.key}")
    return InvoiceDocument.model_validate(doc)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/invoices",
        list_invoices,
        "Finalized invoices of an account (default: the caller's organization's, or a user token's own)",
        _TAG,
        InvoiceList,
        query=InvoiceListQuery,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/invoices/upcoming",
        upcoming_invoice,
        "The upcoming invoice of the current period (draft from the usage settled so far)",
        _TAG,
        InvoiceDocument,
        query=AccountQuery,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/invoices/{id}.pdf",
        get_invoice_pdf,
        "A finalized invoice as a one-page PDF",
        _TAG,
        None,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
        media={PDF: {"type": "string", "format": "binary"}},
        media_only=True,
    ),
    Endpoint(
        "GET",
        "/api/billing/invoices/{id}",
        get_invoice,
        "A finalized invoice document (a PDF with Accept: application/pdf)",
        _TAG,
        InvoiceDocument,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
        media={PDF: {"type": "string", "format": "binary"}},
    ),
    Endpoint(
        "POST",
        "/api/billing/invoices/{id}/pay",
        pay_invoice,
        "Pay a finalized invoice mirrored in Stripe (owners and admins)",
        _TAG,
        InvoicePayment,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 402, 403, 404, 409, 503),
        description="Pays the Stripe invoice the finalized invoice was pushed to, with an idempotency key of the "
        "invoice, and records the payment: a second request answers 409 already_paid. 409 not_in_stripe when the "
        "invoice was not pushed to Stripe (tiers billed by Stripe subscriptions are collected by Stripe itself); "
        "402 payment_declined when Stripe declines the payment.",
    ),
    Endpoint(
        "GET",
        "/api/billing/invoices/{id}/payments",
        invoice_payments,
        "Payment attempts on a finalized invoice and their outcomes",
        _TAG,
        PaymentList,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/payments",
        list_payments,
        "Payment attempts on an account's invoices (default: the caller's organization's, or a user token's own)",
        _TAG,
        PaymentList,
        query=PaymentListQuery,
        errors=(401, 403, 404, 422),
        description="Newest first, at most 1000; filter by invoice, status (succeeded, failed, refunded), the "
        "invoices' usage period (period=YYYY-MM) and time (since, until). Amounts in the currency's smallest unit.",
    ),
    Endpoint(
        "GET",
        "/api/billing/organizations/{id}/invoices",
        organization_invoices,
        "Finalized invoices of an organization",
        "organizations",
        InvoiceList,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
