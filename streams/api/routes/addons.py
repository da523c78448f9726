"""``/api/billing/subscriptions/{id}/addons``: add-ons recorded on a subscription (one-time, recurring,
hourly with hours logged) by platform operators, read by the account's owners and admins; billed as
``addon:<name>`` lines by settlement and the upcoming invoice (docs/rating.md, "Add-ons")."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from streams.api.audit import audit_change
from streams.api.auth import Principal
from streams.api.common import account_terms, caller
from streams.api.errors import ApiError, refused_as_invalid
from streams.api.models import (
    ADDON_ID_PATTERN,
    SUB_ID_PATTERN,
    AddonEnd,
    AddonIn,
    AddonList,
    AddonOut,
    HoursIn,
    HoursOut,
)
from streams.api.routes.contracts import load_subscription
from streams.api.routing import Call, Endpoint
from streams.store import addons as store
from streams.store import subscription_store
from streams.store.models import AddonHoursRow, ContractAddonRow, Subscription

PREFIX = "/api/billing/subscriptions"


def _out(call: Call, sub: Subscription, row: ContractAddonRow, hours: list[AddonHoursRow]) -> AddonOut:
    now = call.ctx.clock()
    contract = subscription_store.contract_at(sub, now)
    price = contract.addons.get(row.name) if contract else None
    catalog_addon = call.ctx.catalog.at(now).addons.get(row.name)
    if price is None and catalog_addon is not None:
        price = catalog_addon.unit_amount
    return AddonOut(
        id=row.id,
        subscription_id=row.subscription_id,
        account_id=row.account_id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        quantity=row.quantity,  # type: ignore[arg-type]
        unit_price=price,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        note=row.note,
        hours=[
            HoursOut(worked_on=h.worked_at.date(), hours=h.hours, note=h.note, created_by=h.created_by)  # type: ignore[arg-type]
            for h in hours
        ],
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _period_start(call: Call, s: Session, sub: Subscription, now: datetime) -> datetime:
    return account_terms(s, call.ctx.catalog.at(now), sub.account_id, now).period(now).start


def _addon(s: Session, sub: Subscription, addon_id: str) -> ContractAddonRow:
    row = store.get(s, addon_id)
    if row is None or row.subscription_id != sub.id:
        raise ApiError(404, "not_found", f"no add-on {addon_id} on {sub.id}")
    return row


def _audited(
    call: Call,
    s: Session,
    who: Principal,
    sub: Subscription,
    row: ContractAddonRow,
    action: str,
    before: dict[str, Any] | None,
) -> AddonOut:
    """The add-on as answered, its change recorded in the organization's audit log."""
    s.flush()
    out = _out(call, sub, row, store.hours_of(s, [row.id])[row.id])
    after = out.model_dump(mode="json")
    audit_change(call, s, who, sub.organization_id, action, target=row.id, before=before, after=after)
    return out


def list_addons(call: Call) -> AddonList:
    with call.ctx.sessions() as s:
        sub = load_subscription(s, caller(call, s), call.path["id"], write=False)
        rows = store.of_subscription(s, sub.id)
        hours = store.hours_of(s, [r.id for r in rows])
        return AddonList(data=[_out(call, sub, r, hours[r.id]) for r in rows])


def create_addon(call: Call) -> AddonOut:
    body: AddonIn = call.body
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        sub = load_subscription(s, who, call.path["id"], write=True)
        with refused_as_invalid():
            row = store.record(
                s,
                sub,
                call.ctx.catalog.at(now),
                body.name,
                quantity=body.quantity,
                starts_at=body.starts_at or now,
                ends_at=body.ends_at,
                note=body.note,
                by=f"operator:{who.user_id}",
                now=now,
                not_before=_period_start(call, s, sub, now),
            )
        return _audited(call, s, who, sub, row, "addon.created", None)


def _existing(call: Call, s: Session, who: Principal) -> tuple[Subscription, ContractAddonRow, dict[str, Any]]:
    """The subscription and add-on a write names (operators only; 404 across accounts) and the add-on as it was
    (the audit's ``before``)."""
    sub = load_subscription(s, who, call.path["id"], write=True)
    row = _addon(s, sub, call.path["addon_id"])
    return sub, row, _out(call, sub, row, store.hours_of(s, [row.id])[row.id]).model_dump(mode="json")


def end_addon(call: Call) -> AddonOut:
    body: AddonEnd = call.body
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        sub, row, before = _existing(call, s, who)
        with refused_as_invalid():
            store.end(s, row, body.ends_at, _period_start(call, s, sub, now))
        return _audited(call, s, who, sub, row, "addon.ended", before)


def log_hours(call: Call) -> AddonOut:
    body: HoursIn = call.body
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        sub, row, before = _existing(call, s, who)
        with refused_as_invalid():
            store.log_hours(
                s,
                row,
                datetime.combine(body.worked_on, time(0), tzinfo=UTC),
                body.hours,
                body.note,
                by=f"operator:{who.user_id}",
                now=now,
                not_before=_period_start(call, s, sub, now),
            )
        return _audited(call, s, who, sub, row, "addon.hours_logged", before)


_ID = {"id": SUB_ID_PATTERN}
_ADDON = {"id": SUB_ID_PATTERN, "addon_id": ADDON_ID_PATTERN}
_TAG = "contracts"
_OPS = "Only a platform JWT with the claim meterline_operator=true may write (docs/security.md)."

ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/addons",
        list_addons,
        "The add-ons recorded on the subscription, with hours logged (owners, admins and platform operators)",
        _TAG,
        AddonList,
        path_params=_ID,
        errors=(401, 403, 404),
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/addons",
        create_addon,
        "Record an add-on: one-time, recurring (prorated) or hourly (platform operators only)",
        _TAG,
        AddonOut,
        body=AddonIn,
        path_params=_ID,
        status=201,
        errors=(401, 403, 404, 422),
        description="Billed as an addon:<name> line at the contract's price, else the catalog's. " + _OPS,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/addons/{{addon_id}}/end",
        end_addon,
        "End a recurring add-on (platform operators only)",
        _TAG,
        AddonOut,
        body=AddonEnd,
        path_params=_ADDON,
        errors=(401, 403, 404, 422),
        description=_OPS,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/addons/{{addon_id}}/hours",
        log_hours,
        "Log hours worked on an hourly add-on, with a date and a note (platform operators only)",
        _TAG,
        AddonOut,
        body=HoursIn,
        path_params=_ADDON,
        status=201,
        errors=(401, 403, 404, 422),
        description=_OPS,
    ),
]
