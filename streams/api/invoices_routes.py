"""``/api/billing/invoices``: finalized invoices from ClickHouse, and the upcoming (draft) invoice of the
current period computed by settlement from the usage settled so far."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rating.subscriptions import SubscriptionHistory
from streams.api.auth import READ_ALL, Principal, account_access, require_role
from streams.api.common import account_terms, caller
from streams.api.errors import ApiError
from streams.api.routing import Call, Endpoint
from streams.api.schemas import (
    INVOICE_ID_PATTERN,
    ORG_ID_PATTERN,
    AccountQuery,
    InvoiceDocument,
    InvoiceList,
    InvoiceListQuery,
    InvoiceSummary,
)
from streams.store import orgs
from streams.store import subscription_store as store

_TAG = "invoices"


def _org_accounts(s: Session, org_id: str) -> list[str]:
    """The organization and every account billed under it (members, user subscriptions)."""
    accounts = {org_id}
    accounts.update(m.user_id for m in orgs.members(s, org_id))
    accounts.update(r.account_id for r in store.for_organization(s, org_id))
    return sorted(accounts)


def _readable(s: Session, who: Principal, account: str) -> None:
    access = account_access(s, who, account)
    if not (access.is_self or access.reads_all):
        raise ApiError(403, "forbidden", f"the role {access.role} reads only its own invoices")


def list_invoices(call: Call) -> InvoiceList:
    q: InvoiceListQuery = call.query
    with call.ctx.sessions() as s:
        who = caller(call, s)
        if q.account is not None:
            _readable(s, who, q.account)
            accounts = [q.account]
        elif who.organization_id is not None:
            require_role(s, who, who.organization_id, READ_ALL)
            accounts = _org_accounts(s, who.organization_id)
        else:
            raise ApiError(422, "invalid_request", "account: required for a token without an 'org' claim")
    return InvoiceList(invoices=[InvoiceSummary(**d) for d in call.ctx.warehouse.invoices(accounts)])


def organization_invoices(call: Call) -> InvoiceList:
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], READ_ALL)
        accounts = _org_accounts(s, call.path["id"])
    return InvoiceList(invoices=[InvoiceSummary(**d) for d in call.ctx.warehouse.invoices(accounts)])


def get_invoice(call: Call) -> InvoiceDocument:
    found = call.ctx.warehouse.invoice(call.path["id"])
    with call.ctx.sessions() as s:
        who = caller(call, s)
        if found is None:
            raise ApiError(404, "not_found", f"no invoice {call.path['id']}")
        try:
            _readable(s, who, found[0])
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, "not_found", f"no invoice {call.path['id']}") from exc
            raise
    return InvoiceDocument.model_validate(found[1])


def upcoming_invoice(call: Call) -> InvoiceDocument:
    q: AccountQuery = call.query
    now = call.ctx.clock()
    with call.ctx.sessions() as s:
        _readable(s, caller(call, s), q.account)
        period = account_terms(s, call.ctx.catalog.at(now), q.account, now).period(now)

    def histories(account: str) -> SubscriptionHistory | None:
        with call.ctx.sessions() as hs:
            h = store.history(hs, account)
        return h if h.versions else None

    doc = call.ctx.warehouse.upcoming(call.ctx.catalog, histories, q.account, period)
    return InvoiceDocument.model_validate(doc)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/invoices",
        list_invoices,
        "Finalized invoices of an account (default: of every account of the caller's organization)",
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
        "/api/billing/invoices/{id}",
        get_invoice,
        "A finalized invoice document",
        _TAG,
        InvoiceDocument,
        path_params={"id": INVOICE_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/organizations/{id}/invoices",
        organization_invoices,
        "Finalized invoices of an organization and its members",
        "organizations",
        InvoiceList,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
