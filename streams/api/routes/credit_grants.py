"""``/api/billing/subscriptions/{id}/credit-grants``: prepaid credits granted by platform operators, read
with what remains of them by the account's owners and admins (docs/rating.md, "Commitments and credits").
What remains is derived from the finalized invoices' ``credit:<id>`` lines in ClickHouse."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from streams.api.audit import audit_change
from streams.api.common import caller
from streams.api.errors import refused_as_invalid
from streams.api.models import SUB_ID_PATTERN, CreditGrantIn, CreditGrantList, CreditGrantOut
from streams.api.routes.contracts import load_subscription
from streams.api.routing import Call, Endpoint
from streams.store import credits as store
from streams.store.models import CreditGrantRow

PREFIX = "/api/billing/subscriptions"


def _out(row: CreditGrantRow, drawn: Mapping[str, Decimal]) -> CreditGrantOut:
    g = store.as_grant(row, drawn)
    return CreditGrantOut(
        id=row.id,
        subscription_id=row.subscription_id,
        account_id=row.account_id,
        name=row.name,
        amount=g.amount,
        remaining=g.remaining,
        currency=row.currency,
        effective_at=row.effective_at,
        expires_at=row.expires_at,
        priority=row.priority,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def list_grants(call: Call) -> CreditGrantList:
    now = call.ctx.clock()
    with call.ctx.sessions() as s:
        sub = load_subscription(s, caller(call, s), call.path["id"], write=False)
        rows = store.of_subscription(s, sub.id)
    drawn = call.ctx.warehouse.credit_drawn(sub.account_id) if rows else {}
    data = [_out(r, drawn) for r in rows]
    live = [g for g in data if g.effective_at <= now and (g.expires_at is None or g.expires_at > now)]
    return CreditGrantList(data=data, balance=sum((g.remaining for g in live), Decimal(0)))


def create_grant(call: Call) -> CreditGrantOut:
    body: CreditGrantIn = call.body
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        sub = load_subscription(s, who, call.path["id"], write=True)
        with refused_as_invalid():
            row = store.grant(
                s,
                sub,
                body.name,
                body.amount,
                effective_at=body.effective_at or now,
                expires_at=body.expires_at,
                priority=body.priority,
                by=f"operator:{who.user_id}",
                now=now,
            )
        out = _out(row, {})
        after = out.model_dump(mode="json")
        audit_change(call, s, who, sub.organization_id, "credit_grant.created", target=row.id, after=after)
        return out


_ID = {"id": SUB_ID_PATTERN}
_TAG = "contracts"

ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/credit-grants",
        list_grants,
        "The subscription's credit grants with what remains of each, and the balance in effect now "
        "(owners, admins and platform operators)",
        _TAG,
        CreditGrantList,
        path_params=_ID,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/credit-grants",
        create_grant,
        "Grant prepaid credit: drawn by the invoices of the periods it is in effect in (platform operators only)",
        _TAG,
        CreditGrantOut,
        body=CreditGrantIn,
        path_params=_ID,
        status=201,
        errors=(401, 403, 404, 422),
        description="Grants are drawn by priority, then the soonest expiry, as credit:<id> lines with negative "
        "amounts. Only a platform JWT with the claim meterline_operator=true may write (docs/security.md).",
    ),
]
