"""The audit log: who changed what of an organization's billing or access, when and from where (docs/audit.md).

``record`` is the one way in, called by every write path in the same transaction as the change it records (a
change that rolls back leaves no entry). Nothing here updates or deletes an entry but ``prune``, the retention
period's (``meterline audit prune``); database triggers refuse anything else (migration 0014).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session, sessionmaker

from streams.store.models import AuditEntry, AuditPruneGate, CreditNoteRow, InvoiceReceivableRow, Organization

#: Every action recorded, documented in docs/audit.md.
ACTIONS = frozenset(
    {
        "organization.updated",
        "member.invited",
        "member.invitation_resent",
        "member.invitation_revoked",
        "member.joined",
        "member.role_changed",
        "member.removed",
        "ownership.transferred",
        "api_key.created",
        "api_key.revoked",
        "subscription.created",
        "subscription.changed",
        "subscription.canceled",
        "subscription.reactivated",
        "contract.changed",
        "addon.created",
        "addon.ended",
        "addon.hours_logged",
        "payment_method.changed",
        "invoice.paid",
        "invoice.voided",
        "invoice.uncollectible",
        "credit_note.issued",
        "credit_note.refund_paid",
        "invoice.reissued",
        "credit_grant.created",
        "ai_controls.changed",
        "ai_access.requested",
        "ai_access.approved",
        "ai_access.denied",
        "ai_access.revoked",
        "budget.changed",
        "branding.changed",
        "session.signed_in",
    }
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Who made a change and from where: ``actor`` is ``user:<id>``, ``key:<id>``, ``operator:<id>`` or
    ``system``; ``ip`` and ``user_agent`` as the request presented them (None off a request)."""

    actor: str
    ip: str | None = None
    user_agent: str | None = None


def record(
    s: Session,
    org_id: str,
    origin: Origin,
    action: str,
    at: datetime,
    *,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        organization_id=org_id,
        at=at,
        actor=origin.actor[:160],
        action=action,
        target=target,
        before=before,
        after=after,
        ip=origin.ip[:64] if origin.ip else None,
        user_agent=origin.user_agent[:400] if origin.user_agent else None,
    )
    s.add(entry)
    s.flush()
    return entry


#: The receivable status each invoice action leaves (``record_invoice``).
INVOICE_ACTIONS = {"paid": "invoice.paid", "void": "invoice.voided", "uncollectible": "invoice.uncollectible"}


def _record_for_org(s: Session, account: str, origin: Origin, action: str, at: datetime, **what: Any) -> None:
    """Record a change to an account's invoices off the API's request paths (Stripe's webhooks, the operators'
    commands, the collection loop) when the account is an organization: a person's own are no one's record."""
    if s.get(Organization, account) is not None:
        record(s, account, origin, action, at, **what)


def record_invoice(s: Session, row: InvoiceReceivableRow, before: str, origin: Origin, at: datetime) -> None:
    """Record an organization's invoice changing status (paid, voided, written off) off the API's request paths:
    Stripe's webhooks and the operators' commands. A person's own invoices are no organization's record."""
    action = INVOICE_ACTIONS.get(row.status)
    if action is None or row.status == before:
        return
    after = {"status": row.status, "number": row.number, "amount_paid": row.amount_paid, "currency": row.currency}
    _record_for_org(
        s, row.account_id, origin, action, at, target=row.invoice_id, before={"status": before}, after=after
    )


def record_credit_note(s: Session, note: CreditNoteRow, origin: Origin, at: datetime) -> None:
    """Record a credit note issued on an organization's invoice (by an operator, or for a refund in Stripe)."""
    after = {
        "number": note.number,
        "amount": note.amount,
        "credited": note.credited,
        "refunded": note.refunded,
        "currency": note.currency,
        "reason": note.reason,
    }
    _record_for_org(s, note.account_id, origin, "credit_note.issued", at, target=note.invoice_id, after=after)


def record_refund(s: Session, note: CreditNoteRow, origin: Origin, at: datetime) -> None:
    """Record a credit note's refund paid out (through Stripe, or recorded as paid by hand)."""
    after = {
        "number": note.number,
        "refunded": note.refunded,
        "currency": note.currency,
        "via": note.refund_via,
        "status": note.refund_status,
        "reference": note.refund_reference,
    }
    _record_for_org(s, note.account_id, origin, "credit_note.refund_paid", at, target=note.invoice_id, after=after)


def record_reissue(s: Session, new: InvoiceReceivableRow, origin: Origin, at: datetime) -> None:
    """Record a void invoice of an organization reissued (``target`` the void one, ``after`` its reissue)."""
    after = {"invoice_id": new.invoice_id, "number": new.number, "amount_due": new.amount_due}
    _record_for_org(s, new.account_id, origin, "invoice.reissued", at, target=new.reissue_of, after=after)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None  # an action, or a prefix ending with '.' (``member.``)
    actor: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def entries(
    s: Session, org_id: str, f: AuditFilter, *, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The organization's entries matching ``f``, newest first, below ``before_id`` (the paging cursor)."""
    return list(s.scalars(_query(org_id, f, before_id).limit(limit)))


def iter_entries(
    sessions: sessionmaker[Session], org_id: str, f: AuditFilter, batch: int = 500
) -> Iterator[list[AuditEntry]]:
    """All matching entries, newest first, in batches each read in a session of its own (the CSV export streams
    them to the caller: a slow reader holds no connection between batches)."""
    cursor: int | None = None
    while True:
        with sessions() as s:
            rows = entries(s, org_id, f, before_id=cursor, limit=batch)
        yield rows  # detached, their columns loaded
        if len(rows) < batch:
            return
        cursor = rows[-1].id


def _query(org_id: str, f: AuditFilter, before_id: int | None) -> Any:
    q = select(AuditEntry).where(AuditEntry.organization_id == org_id)
    if f.action is not None:
        q = q.where(
            AuditEntry.action.startswith(f.action, autoescape=True)
            if f.action.endswith(".")
            else AuditEntry.action == f.action
        )
    if f.actor is not None:
        q = q.where(AuditEntry.actor == f.actor)
    if f.target is not None:
        q = q.where(AuditEntry.target == f.target)
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    return q.order_by(AuditEntry.id.desc())


def prune(s: Session, cutoff: datetime) -> int:
    """Delete the entries older than ``cutoff`` (all organizations); the gate row that lets the trigger pass
    them lives only inside this transaction."""
    s.add(AuditPruneGate(cutoff=cutoff))
    s.flush()
    result: CursorResult[Any] = s.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))  # type: ignore[assignment]
    s.execute(delete(AuditPruneGate))
    return int(result.rowcount)
