"""Add-ons in the billing store: recorded by platform operators on a subscription, hours logged on hourly
ones, read back as ``rating.addons.AddonUse`` for settlement and the upcoming invoice (docs/rating.md,
"Add-ons"). One function per write (``record``, ``end``, ``log_hours``) so an audit log can hook each."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating.addons import AddonKind, AddonUse, period_quantities
from rating.catalog.model import CatalogVersion
from rating.periods import Period
from streams.store.db import table_check
from streams.store.models import AddonHoursRow, ContractAddonRow, Subscription

#: Bounds of what one record or one log entry may carry (a typo of 1500 hours is refused, not billed).
MAX_QUANTITY = Decimal(1000)
MAX_HOURS = Decimal(744)  # the hours of a 31-day month


def addon_problem(
    catalog: CatalogVersion,
    name: str,
    quantity: Decimal,
    starts_at: datetime,
    ends_at: datetime | None,
    not_before: datetime,
) -> str | None:
    """Why an add-on cannot be recorded as given, or None (the one home of these rules). ``not_before``:
    the start of the account's current period (a finalized invoice is not reopened)."""
    addon = catalog.addons.get(name)
    if addon is None:
        return f"name: {name!r} is not an add-on of the catalog ({', '.join(sorted(catalog.addons))})"
    if starts_at < not_before:
        return f"starts_at: before the current period ({not_before.isoformat()}), whose invoices are final"
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        return f"quantity: must be above 0 and at most {MAX_QUANTITY}"
    if addon.kind != "one_time" and quantity != 1:
        return f"quantity: a {addon.kind} add-on is recorded once (hours are logged, months are billed)"
    return end_problem(addon.kind, starts_at, ends_at, not_before)


def end_problem(kind: str, starts_at: datetime, ends_at: datetime | None, not_before: datetime) -> str | None:
    if ends_at is None:
        return None
    if kind != "recurring":
        return "ends_at: only a recurring add-on ends"
    if ends_at <= starts_at or ends_at < not_before:
        return "ends_at: must be after starts_at and not before the current period"
    return None


def hours_problem(row: ContractAddonRow, worked_at: datetime, hours: Decimal, not_before: datetime) -> str | None:
    if row.kind != "hourly":
        return f"add-on {row.name} is {row.kind}: hours are logged on hourly add-ons only"
    if worked_at < not_before:
        return f"worked_on: before the current period ({not_before.date().isoformat()}), whose invoices are final"
    if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS:
        return f"hours: must be above 0 and at most {MAX_HOURS}"
    return None


def record(
    s: Session,
    sub: Subscription,
    catalog: CatalogVersion,
    name: str,
    *,
    quantity: Decimal,
    starts_at: datetime,
    ends_at: datetime | None,
    note: str | None,
    by: str,
    now: datetime,
    not_before: datetime,
) -> ContractAddonRow:
    """Record an add-on (validated by ``addon_problem`` first: a ValueError carries its reason)."""
    problem = addon_problem(catalog, name, quantity, starts_at, ends_at, not_before)
    if problem:
        raise ValueError(problem)
    row = ContractAddonRow(
        id="add_" + secrets.token_hex(12),
        subscription_id=sub.id,
        account_id=sub.account_id,
        name=name,
        kind=catalog.addons[name].kind,
        quantity=str(quantity),
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        created_by=by,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def end(s: Session, row: ContractAddonRow, at: datetime, not_before: datetime) -> None:
    """Stop a recurring add-on at ``at`` (the last period bills the fraction before it)."""
    problem = end_problem(row.kind, row.starts_at, at, not_before)
    if problem:
        raise ValueError(problem)
    row.ends_at = at
    s.flush()


def log_hours(
    s: Session,
    row: ContractAddonRow,
    worked_at: datetime,
    hours: Decimal,
    note: str,
    *,
    by: str,
    now: datetime,
    not_before: datetime,
) -> AddonHoursRow:
    problem = hours_problem(row, worked_at, hours, not_before)
    if problem:
        raise ValueError(problem)
    entry = AddonHoursRow(
        addon_id=row.id, worked_at=worked_at, hours=str(hours), note=note, created_by=by, created_at=now
    )
    s.add(entry)
    s.flush()
    return entry


def get(s: Session, addon_id: str) -> ContractAddonRow | None:
    return s.get(ContractAddonRow, addon_id)


def of_subscription(s: Session, subscription_id: str) -> list[ContractAddonRow]:
    sel = select(ContractAddonRow).where(ContractAddonRow.subscription_id == subscription_id)
    return list(s.scalars(sel.order_by(ContractAddonRow.starts_at, ContractAddonRow.name, ContractAddonRow.id)))


def hours_of(s: Session, addon_ids: list[str]) -> dict[str, list[AddonHoursRow]]:
    out: dict[str, list[AddonHoursRow]] = {i: [] for i in addon_ids}
    if addon_ids:
        sel = select(AddonHoursRow).where(AddonHoursRow.addon_id.in_(addon_ids))
        for h in s.scalars(sel.order_by(AddonHoursRow.worked_at, AddonHoursRow.id)):
            out[h.addon_id].append(h)
    return out


def uses(s: Session, account_id: str, *, known_by: datetime | None = None) -> list[AddonUse]:
    """Every add-on of the account, as rating reads them. ``known_by``: only the add-ons and hours recorded
    before then (the settled-history forecast backtest replays a day as it was known; docs/forecasting.md)."""
    sel = select(ContractAddonRow).where(ContractAddonRow.account_id == account_id)
    if known_by is not None:
        sel = sel.where(ContractAddonRow.created_at < known_by)
    rows = list(s.scalars(sel))
    hours = hours_of(s, [r.id for r in rows])
    if known_by is not None:
        hours = {i: [h for h in hs if h.created_at < known_by] for i, hs in hours.items()}
    return [
        AddonUse(
            name=r.name,
            kind=_kind(r.kind),
            start=r.starts_at,
            end=r.ends_at,
            quantity=_decimal(r.quantity),
            hours=tuple((h.worked_at, _decimal(h.hours)) for h in hours[r.id]),
        )
        for r in rows
    ]


def store_addons(make_session: sessionmaker[Session]) -> Callable[[str, Period], Mapping[str, Decimal]]:
    """What settlement asks: an account's add-on quantities of a period."""

    migrated = table_check(ContractAddonRow.__tablename__)

    def addons(account: str, period: Period) -> Mapping[str, Decimal]:
        with make_session() as s:
            return period_quantities(uses(s, account), period) if migrated(s) else {}

    return addons


def _kind(kind: str) -> AddonKind:
    if kind not in ("one_time", "recurring", "hourly"):
        raise ValueError(f"unknown add-on kind {kind!r} in the store")
    return kind  # type: ignore[return-value]


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal in the store: {text!r}") from exc
