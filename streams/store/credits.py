"""Credit grants in the billing store: granted by platform operators on a subscription, read back as
``rating.credits.CreditGrant`` for settlement and the upcoming invoice (docs/rating.md, "Commitments and
credits"). What remains of a grant is derived from the finalized invoices' ``credit:<id>`` lines."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating.credits import CREDIT_PREFIX, LOW_BALANCE_SHARE, CreditGrant
from rating.money import CENT
from rating.periods import Period
from streams.store.db import table_check
from streams.store.models import CreditGrantRow, Subscription

log = logging.getLogger(__name__)

#: The largest grant one record may carry (a typo of a few zeros is refused, not granted).
MAX_GRANT = Decimal(10_000_000)


def grant_problem(amount: Decimal, effective_at: datetime, expires_at: datetime | None, now: datetime) -> str | None:
    """Why a grant cannot be made as given, or None (the one home of these rules)."""
    if not amount.is_finite() or amount <= 0 or amount > MAX_GRANT:
        return f"amount: must be above 0 and at most {MAX_GRANT}"
    if amount != amount.quantize(CENT):
        return "amount: whole cents"
    if expires_at is not None and (expires_at <= effective_at or expires_at <= now):
        return "expires_at: must be after effective_at and in the future"
    return None


def grant(
    s: Session,
    sub: Subscription,
    name: str,
    amount: Decimal,
    *,
    effective_at: datetime,
    expires_at: datetime | None,
    priority: int,
    by: str,
    now: datetime,
) -> CreditGrantRow:
    problem = grant_problem(amount, effective_at, expires_at, now)
    if problem:
        raise ValueError(problem)
    row = CreditGrantRow(
        id="cg_" + secrets.token_hex(12),
        subscription_id=sub.id,
        account_id=sub.account_id,
        name=name,
        amount=int(amount * 100),
        currency="usd",
        effective_at=effective_at,
        expires_at=expires_at,
        priority=priority,
        created_by=by,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def of_subscription(s: Session, subscription_id: str) -> list[CreditGrantRow]:
    sel = select(CreditGrantRow).where(CreditGrantRow.subscription_id == subscription_id)
    return list(s.scalars(sel.order_by(CreditGrantRow.priority, CreditGrantRow.effective_at, CreditGrantRow.id)))


def as_grant(row: CreditGrantRow, drawn: Mapping[str, Decimal]) -> CreditGrant:
    """The grant as rating reads it; ``drawn``: amounts of finalized lines by code (negative)."""
    amount = Decimal(row.amount) / 100
    return CreditGrant(
        grant_id=row.id,
        name=row.name,
        amount=amount,
        remaining=amount + drawn.get(f"{CREDIT_PREFIX}{row.id}", Decimal(0)),
        effective_at=row.effective_at,
        expires_at=row.expires_at,
        priority=row.priority,
    )


def store_credits(make_session: sessionmaker[Session]) -> Callable[[str], list[CreditGrant]]:
    """What settlement asks: an account's grants, ``remaining`` before any draw (settlement subtracts what
    the finalized invoices drew); none while the store has no table yet."""
    migrated = table_check(CreditGrantRow.__tablename__)

    def credits(account: str) -> list[CreditGrant]:
        with make_session() as s:
            if not migrated(s):
                return []
            rows = s.scalars(select(CreditGrantRow).where(CreditGrantRow.account_id == account))
            return [as_grant(r, {}) for r in rows]

    return credits


def store_credit_alerts(make_session: sessionmaker[Session]) -> Callable[[str, CreditGrant, Decimal, Period], None]:
    """Settlement's ``on_credit_low``: a low-balance alert through the usage-alert path (an email notice and a
    ``usage.alert`` webhook event, ``streams.notify.alerts``), once per grant and period by its key."""
    from streams.notify.alerts import enqueue_alert

    def tell(account: str, grant: CreditGrant, remaining: Decimal, period: Period) -> None:
        now = datetime.now(UTC)
        log.info("credit grant %s of %s is low: %s left", grant.grant_id, account, remaining)
        doc = {
            "account_id": account,
            "metric": f"{CREDIT_PREFIX}{grant.grant_id}",
            "period": period.key,
            "kind": "credit_low",
            "threshold": f"{grant.amount * LOW_BALANCE_SHARE:.2f}",
            "used": None,  # the notice's "used" reads as usage; what remains is in the API (credit-grants)
            "at": now.isoformat(),
        }
        with make_session.begin() as s:
            enqueue_alert(s, doc, now)

    return tell
