"""``/api/billing/subscriptions/{id}/contract``: an enterprise contract, read by the account's owners and
admins, written by platform operators only (docs/security.md, "Platform operators").

A contract travels inside the subscription's versions on ``billing.subscriptions`` (as the ``contract``
field), so the live stage and settlement rate each event under the contract in effect at its time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rating.catalog.model import ContractOverrides
from rating.contract_terms import term_end
from streams.api.audit import audit_change
from streams.api.auth import Principal, account_access
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import SUB_ID_PATTERN, ContractOut, ContractPut
from streams.api.routing import Call, Endpoint
from streams.store import subscription_store as store
from streams.store.models import Subscription

PREFIX = "/api/billing/subscriptions"


def load_subscription(s: Session, who: Principal, subscription_id: str, *, write: bool) -> Subscription:
    """The subscription if the caller may read (owners, admins, the person's own account, operators) or
    write (operators only) its contract: 404 when it cannot see the subscription at all, 403 when it can."""
    row = store.get(s, subscription_id, for_update=write)
    if row is None:
        raise ApiError(404, "not_found", f"no subscription {subscription_id}")
    if who.operator:
        return row
    try:
        access = account_access(s, who, row.account_id)
    except ApiError:
        access = None
    if access is None:
        raise ApiError(404, "not_found", f"no subscription {subscription_id}")
    if write:
        raise ApiError(403, "forbidden", "only a platform operator writes contracts")
    if not access.manages:  # the negotiated prices are for who manages billing, not members or viewers
        raise ApiError(403, "forbidden", f"the role {access.role} may not read the contract")
    return row


def render(s: Session, row: Subscription, now: datetime, change: str | None = None) -> ContractOut:
    current = store.history(s, row.account_id).at(now)
    pending = row.pending_contract_at if row.pending_contract_at and row.pending_contract_at > now else None
    contract = store.contract_at(row, now)
    return ContractOut(
        subscription_id=row.id,
        account_id=row.account_id,
        contract=contract,
        term_ends_on=term_end(contract.term, now.date()) if contract and contract.term else None,
        effective_from=current.effective_from if current is not None else None,
        pending_contract=store.contract_at(row, pending) if pending else None,
        pending_effective_from=pending,
        change=change,
    )


def get_contract(call: Call) -> ContractOut:
    with call.ctx.sessions() as s:
        row = load_subscription(s, caller(call, s), call.path["id"], write=False)
        return render(s, row, call.ctx.clock())


def put_contract(call: Call) -> ContractOut:
    body: ContractPut = call.body
    now = call.ctx.clock()
    try:
        with call.ctx.sessions.begin() as s:
            who = caller(call, s)
            row = load_subscription(s, who, call.path["id"], write=True)
            before = render(s, row, now).model_dump(mode="json", exclude={"change"})
            if body.effective_from is not None and body.effective_from < now:
                raise ApiError(422, "invalid_request", "effective_from: in the past (rated usage keeps its version)")
            _check_catalog(call, body.contract, body.effective_from or now)
            written = store.set_contract(s, row, body.contract, now, body.effective_from)
            out = render(s, row, now, "contract" if written else None)
            if written:
                after = out.model_dump(mode="json", exclude={"change"})
                audit_change(
                    call, s, who, row.organization_id, "contract.changed", target=row.id, before=before, after=after
                )
    except IntegrityError as exc:
        raise ApiError(409, "concurrent_change", "the subscription changed at the same time: retry") from exc
    call.ctx.notify_outbox()
    return out


def _check_catalog(call: Call, contract: ContractOverrides | None, now: datetime) -> None:
    if contract is None:
        return
    unknown = store.unknown_to_catalog(contract, call.ctx.catalog.at(now))
    if unknown:
        raise ApiError(422, "invalid_request", f"contract: unknown to the catalog: {', '.join(unknown)}")


_ID = {"id": SUB_ID_PATTERN}
_TAG = "contracts"

ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/contract",
        get_contract,
        "The subscription's enterprise contract (owners, admins and platform operators)",
        _TAG,
        ContractOut,
        path_params=_ID,
        errors=(401, 403, 404),
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}/contract",
        put_contract,
        "Set or clear the enterprise contract from now or a later time (platform operators only)",
        _TAG,
        ContractOut,
        body=ContractPut,
        path_params=_ID,
        errors=(401, 403, 404, 409),
        description="Writes a subscription version carrying the contract, effective now or at effective_from: "
        "usage before keeps the version it was rated under. Later changes of the subscription (tier, interval, "
        "cancel) keep the contract. "
        "Only a platform JWT with the claim meterline_operator=true may write (docs/security.md).",
    ),
]
