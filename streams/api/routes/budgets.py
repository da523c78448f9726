"""``/api/billing/budgets``: an account's monthly budget (docs/forecasting.md). Read by whoever reads the
account's invoices; set by whoever manages its billing."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from rating.catalog.model import Amount
from rating.money import minor_units, money_text
from streams.api.audit import audit_change
from streams.api.auth import account_access
from streams.api.common import caller, invoice_reader
from streams.api.errors import ApiError
from streams.api.models import AccountQuery
from streams.api.routing import Call, Endpoint
from streams.store.models import BudgetRow, Organization

_TAG = "forecast"


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(le=Decimal("1e12"), description="per period, a decimal string in the currency; 0: none")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str
    amount: str | None = Field(description="null: no budget set")
    currency: str


def get_budget(call: Call) -> Budget:
    q: AccountQuery = call.query
    with call.ctx.sessions() as s:
        invoice_reader(s, caller(call, s), q.account)
        row = s.get(BudgetRow, q.account)
    return _out(q.account, row, call.ctx.catalog.at(call.ctx.clock()).currency)


def put_budget(call: Call) -> Budget:
    q: AccountQuery = call.query
    body: BudgetIn = call.body
    now = call.ctx.clock()
    currency = call.ctx.catalog.at(now).currency
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        access = account_access(s, who, q.account)
        if not access.manages:
            raise ApiError(403, "forbidden", f"the role {access.role} may not set the organization's budget")
        row = s.get(BudgetRow, q.account)
        before = _out(q.account, row, currency).amount
        if body.amount == 0:
            if row is not None:
                s.delete(row)
            out = _out(q.account, None, currency)
        else:
            if row is None:
                row = BudgetRow(account_id=q.account, amount=0, currency=currency, updated_at=now)
                s.add(row)
            row.amount, row.currency, row.updated_at = minor_units(body.amount), currency, now
            out = _out(q.account, row, currency)
        if before != out.amount and s.get(Organization, q.account) is not None:  # a person's account has no log
            audit_change(
                call, s, who, q.account, "budget.changed", before={"amount": before}, after={"amount": out.amount}
            )
        return out


def _out(account: str, row: BudgetRow | None, currency: str) -> Budget:
    if row is None:
        return Budget(account_id=account, amount=None, currency=currency)
    return Budget(account_id=account, amount=money_text(Decimal(row.amount) / 100), currency=row.currency)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/budgets",
        get_budget,
        "An account's monthly budget",
        _TAG,
        Budget,
        query=AccountQuery,
        errors=(401, 403, 404),
    ),
    Endpoint(
        "PUT",
        "/api/billing/budgets",
        put_budget,
        "Set an account's monthly budget (0 removes it); alerts when the forecast, then the actual, passes it",
        _TAG,
        Budget,
        query=AccountQuery,
        body=BudgetIn,
        errors=(401, 403, 404, 422),
    ),
]
