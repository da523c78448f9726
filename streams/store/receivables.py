"""Invoice receivables in the billing store (docs/analytics.md, "Receivables"): finalizing an invoice gives it
the seller's next number and a due date from its payment terms; payments, void, reissue and uncollectible
move it through ``rating.receivables`` and append to its history. Callers own the transaction."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from rating import receivables as rc
from rating.catalog.loader import Catalog
from rating.catalog.model import Tier
from rating.money import minor_units
from sinks.clickhouse.receivables import ReceivableChange, Receivables
from streams.notify.invoices import credit_note_issued, invoice_finalized, payment_received
from streams.store import subscription_store
from streams.store.models import CreditNoteRow, InvoiceNumberCounter, InvoiceReceivableRow, InvoiceStateRow, PaymentRow

DEFAULT_SELLER = "ML"
LOOKBACK = 1_000  # change ids mirrored again on each run


class NotFinalized(LookupError):
    """No receivable for this invoice (it was never finalized)."""


def number_format(seller: str, sequence: int) -> str:
    return f"{seller}-{sequence:06d}"


def next_number(s: Session, seller: str) -> int:
    """The seller's next invoice number, taken in the caller's transaction: the counter row is written first, so
    concurrent finalizations queue on its write lock (PostgreSQL's row lock, SQLite's database lock) and a
    rolled-back finalization gives its number back: no gaps, no duplicates."""
    bump = update(InvoiceNumberCounter).where(InvoiceNumberCounter.seller == seller)
    bump = bump.values(last_number=InvoiceNumberCounter.last_number + 1)
    if s.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with s.begin_nested():  # the seller's first invoice; a concurrent first one may insert it too
                s.add(InvoiceNumberCounter(seller=seller, last_number=1))
            return 1
        except IntegrityError:
            s.execute(bump)
    number = s.scalar(select(InvoiceNumberCounter.last_number).where(InvoiceNumberCounter.seller == seller))
    assert number is not None
    return number


def state(row: InvoiceReceivableRow) -> rc.Receivable:
    return rc.Receivable(row.status, row.amount_due, row.amount_paid, row.due_date)  # type: ignore[arg-type]


def _record(s: Session, row: InvoiceReceivableRow, new: rc.Receivable, reason: str, at: datetime) -> None:
    row.status, row.amount_due, row.amount_paid, row.updated_at = new.status, new.amount_due, new.amount_paid, at
    s.add(
        InvoiceStateRow(
            invoice_id=row.invoice_id,
            status=new.status,
            amount_due=new.amount_due,
            amount_paid=new.amount_paid,
            reason=reason,
            at=at,
        )
    )
    s.flush()


def finalize(
    s: Session,
    invoice_id: str,
    account_id: str,
    amount_due: int,
    currency: str,
    terms: rc.PaymentTerms,
    at: datetime,
    seller: str = DEFAULT_SELLER,
    reissue_of: str | None = None,
) -> InvoiceReceivableRow:
    """Make ``invoice_id`` open (or return it when it already is: finalizing twice takes no second number)."""
    existing = s.get(InvoiceReceivableRow, invoice_id)
    if existing is not None:
        return existing
    new = rc.finalize(amount_due, at.date(), terms)
    sequence = next_number(s, seller)
    row = InvoiceReceivableRow(
        invoice_id=invoice_id,
        account_id=account_id,
        seller=seller,
        sequence=sequence,
        number=number_format(seller, sequence),
        status="open",
        currency=currency,
        amount_due=amount_due,
        amount_paid=0,
        collection=terms.collection,
        net_days=terms.net_days,
        issued_at=at,
        due_date=new.due_date or at.date(),
        reissue_of=reissue_of,
        updated_at=at,
    )
    s.add(row)
    s.flush()
    _record(s, row, rc.Receivable("open", amount_due, 0, row.due_date), "finalize", at)
    if new.status == "paid":
        _record(s, row, new, "nothing_due", at)
    return row


def open_finalized(
    s: Session,
    tiers: Mapping[str, Tier],
    invoice_id: str,
    account_id: str,
    total: str,
    currency: str,
    period_end: datetime,
    finalized_at: datetime,
    period: str | None = None,
) -> InvoiceReceivableRow:
    """The receivable of an invoice settlement finalized (ClickHouse ``invoices``), opened on first sight: issued
    when it was finalized, due by the payment terms of the tier (and contract) in effect at the period's end.
    A concurrent opener of the same invoice loses its savepoint (and the number it took) and reads the winner's."""
    existing = s.get(InvoiceReceivableRow, invoice_id)
    if existing is not None:
        return existing
    version = subscription_store.history(s, account_id).at(period_end - timedelta(microseconds=1))
    terms = rc.PaymentTerms()
    if version is not None and version.tier in tiers:
        terms = rc.terms_of(version.tier_of(dict(tiers)).payment_terms)
    try:
        with s.begin_nested():
            row = finalize(s, invoice_id, account_id, minor_units(Decimal(total)), currency, terms, finalized_at)
            invoice_finalized(s, row, period, finalized_at)  # told once: with the row, or not at all
            return row
    except IntegrityError:
        return get(s, invoice_id)


def _time(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def open_document(s: Session, catalog: Catalog, doc: Mapping[str, Any]) -> InvoiceReceivableRow:
    """``open_finalized`` of a finalized invoice document as ClickHouse keeps it (times as text or datetimes)."""
    period_end = _time(doc["period_end"])
    return open_finalized(
        s,
        catalog.at(_time(doc["period_start"])).tiers,
        doc["invoice_id"],
        doc["account_id"],
        doc["total"],
        doc["currency"],
        period_end,
        _time(doc.get("finalized_at") or period_end),
        period=doc.get("period"),
    )


def with_state(s: Session, catalog: Catalog, doc: dict[str, Any], today: date) -> dict[str, Any]:
    """A finalized invoice document (ClickHouse) with its receivable state from the store, the source of truth
    (opened on first sight); a draft is returned as it is."""
    if doc.get("status") != "final":
        return doc
    return _with_row(s, doc, open_document(s, catalog, doc), today)


def known_state(s: Session, doc: dict[str, Any], today: date) -> dict[str, Any]:
    """``with_state`` without opening anything (a read-only look, e.g. ``meterline invoice preview``): a finalized
    invoice nobody opened yet is ``open`` (Stripe's name for a finalized invoice), with no number so far."""
    if doc.get("status") != "final":
        return doc
    row = s.get(InvoiceReceivableRow, doc["invoice_id"])
    return {**doc, "status": "open"} if row is None else _with_row(s, doc, row, today)


def _with_row(s: Session, doc: dict[str, Any], row: InvoiceReceivableRow, today: date) -> dict[str, Any]:
    state_now = state(row)
    later = reissued_as(s, row.invoice_id) if row.status == "void" else None
    return {
        **doc,
        "reissue_of": row.reissue_of,
        "reissued_as": later.invoice_id if later is not None else None,
        "status": row.status,
        "number": row.number,
        "issued_at": row.issued_at,
        "due_date": row.due_date,
        "amount_due": row.amount_due,
        "amount_paid": row.amount_paid,
        "amount_remaining": state_now.amount_remaining,
        "overdue": state_now.overdue(today),
    }


def get(s: Session, invoice_id: str, for_update: bool = False) -> InvoiceReceivableRow:
    """The receivable of ``invoice_id``; ``for_update``: locked until the transaction ends, before it is read
    (``lock``: SQLite ignores FOR UPDATE, so without the write first two changes would both read, then both
    write — two credit notes or payments over what the invoice collects)."""
    if for_update:
        lock(s, invoice_id)
    q = select(InvoiceReceivableRow).where(InvoiceReceivableRow.invoice_id == invoice_id)
    row = s.scalar(q.with_for_update() if for_update else q)
    if row is None:
        raise NotFinalized(invoice_id)
    return row


def pay(s: Session, invoice_id: str, amount: int, at: datetime, reason: str = "payment") -> InvoiceReceivableRow:
    """Apply a payment of ``amount`` minor units (partial or the rest)."""
    row = get(s, invoice_id, for_update=True)
    _record(s, row, rc.pay(state(row), amount), reason, at)
    return row


PAYMENT_METHODS = ("card", "wire", "ach", "check", "other")


def record_payment(
    s: Session,
    invoice_id: str,
    amount: int,
    method: str,
    at: datetime,
    *,
    source: str,
    recorded_by: str,
    reference: str | None = None,
    failure_reason: str | None = None,
) -> PaymentRow:
    """A payment attempt: with no ``failure_reason`` it succeeded and is applied to the invoice (a partial one
    keeps it open); a failed one is only recorded. Refused (``TransitionError``) when the invoice is not owed or
    the amount exceeds what remains, and then nothing is recorded."""
    if method not in PAYMENT_METHODS:
        raise ValueError(f"unknown payment method {method!r} ({', '.join(PAYMENT_METHODS)})")
    row = get(s, invoice_id, for_update=True)
    if failure_reason is None:
        _record(s, row, rc.pay(state(row), amount), f"payment:{method}", at)
    elif amount <= 0:
        raise rc.TransitionError("a payment must be positive")
    payment = PaymentRow(
        id="pay_" + secrets.token_hex(12),
        invoice_id=invoice_id,
        account_id=row.account_id,
        amount=amount,
        currency=row.currency,
        method=method,
        reference=reference,
        outcome="failed" if failure_reason is not None else "succeeded",
        failure_reason=failure_reason,
        source=source,
        recorded_by=recorded_by,
        at=at,
    )
    s.add(payment)
    s.flush()
    if failure_reason is None and source != "stripe":  # Stripe's are told from its webhooks
        payment_received(s, row, payment, at)
    return payment


def credited_with(s: Session, invoice_id: str, key: str) -> CreditNoteRow | None:
    """The credit note of ``invoice_id`` issued with the idempotency key ``key``, if any."""
    q = select(CreditNoteRow).where(CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.idempotency_key == key)
    return s.scalars(q).first()


class AlreadyCredited(Exception):
    """A credit note of the invoice was issued with this idempotency key already (``note``)."""

    def __init__(self, note: CreditNoteRow) -> None:
        super().__init__(f"credit note {note.number} was issued with this idempotency key")
        self.note = note


#: Stripe's credit note reasons.
CREDIT_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")


def credit_note(
    s: Session,
    invoice_id: str,
    amount: int,
    reason: str,
    at: datetime,
    *,
    created_by: str,
    memo: str | None = None,
    key: str | None = None,
) -> CreditNoteRow:
    """Issue a credit note of ``amount`` minor units on a finalized invoice (``rating.receivables.credit``): numbered
    ``<seller>-CN-000001`` without gaps, the receivable moved and its history kept, the refunded part recorded as a
    ``refunded`` payment. Refused (``TransitionError``) when the invoice cannot be credited so much. With ``key``
    (the request's Idempotency-Key), a note of this invoice issued with it already is raised as
    ``AlreadyCredited`` (read under the invoice's lock, so concurrent retries issue one)."""
    if reason not in CREDIT_REASONS:
        raise ValueError(f"unknown credit note reason {reason!r} ({', '.join(CREDIT_REASONS)})")
    row = get(s, invoice_id, for_update=True)
    done = credited_with(s, invoice_id, key) if key is not None else None
    if done is not None:
        raise AlreadyCredited(done)
    effect = rc.credit(state(row), amount)
    seller = f"{row.seller}-CN"
    note = CreditNoteRow(
        id="cn_" + secrets.token_hex(12),
        number=number_format(seller, next_number(s, seller)),
        invoice_id=invoice_id,
        account_id=row.account_id,
        amount=amount,
        credited=effect.credited,
        refunded=effect.refunded,
        currency=row.currency,
        reason=reason,
        memo=memo,
        created_by=created_by,
        created_at=at,
        idempotency_key=key,
    )
    # Back through Stripe when Stripe collected (at least) what is refunded; else by hand (a wire, or a mix).
    paid_by_stripe = stripe_payment_of(s, invoice_id) if effect.refunded else None
    if paid_by_stripe is not None and stripe_refundable(s, invoice_id) < effect.refunded:
        paid_by_stripe = None
    if effect.refunded:  # paid out through Stripe Refunds, else owed to the customer (streams.store.refunds)
        note.refund_via = "stripe" if paid_by_stripe is not None else "manual"
        note.refund_status = "pending" if paid_by_stripe is not None else "owed"
        note.refund_updated_at = at
    s.add(note)
    _record(s, row, effect.receivable, f"credit_note:{note.number}", at)
    if effect.refunded:
        s.add(
            PaymentRow(
                id="pay_" + secrets.token_hex(12),
                invoice_id=invoice_id,
                account_id=row.account_id,
                amount=effect.refunded,
                currency=row.currency,
                method="card" if paid_by_stripe is not None else "other",
                reference=note.number,
                outcome="refunded",
                failure_reason=None,
                source="credit_note",
                recorded_by=created_by,
                at=at,
            )
        )
    s.flush()
    credit_note_issued(s, row, note, at)
    return note


#: The payments that went through Stripe: its webhooks, the API's ``pay`` and the dunning loop's retries, each
#: with the Stripe invoice it paid as the reference.
STRIPE_SOURCES = ("stripe", "api", "dunning")


def stripe_refundable(s: Session, invoice_id: str) -> int:
    """What Stripe collected on ``invoice_id`` and has not paid back yet (minor units)."""
    paid = s.scalar(
        select(func.coalesce(func.sum(PaymentRow.amount), 0)).where(
            PaymentRow.invoice_id == invoice_id,
            PaymentRow.outcome == "succeeded",
            PaymentRow.source.in_(STRIPE_SOURCES),
        )
    )
    back = s.scalar(
        select(func.coalesce(func.sum(CreditNoteRow.refunded), 0)).where(
            CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.refund_via == "stripe"
        )
    )
    return int(paid or 0) - int(back or 0)


def stripe_payment_of(s: Session, invoice_id: str) -> str | None:
    """The Stripe invoice whose payment paid ``invoice_id``, if Stripe collected it (its refund goes back there)."""
    q = select(PaymentRow.reference).where(
        PaymentRow.invoice_id == invoice_id,
        PaymentRow.outcome == "succeeded",
        PaymentRow.source.in_(STRIPE_SOURCES),
        PaymentRow.reference.is_not(None),
    )
    return s.scalars(q.order_by(PaymentRow.at.desc(), PaymentRow.id).limit(1)).first()


def paid_in_stripe(s: Session, stripe_invoice_id: str) -> str | None:
    """The invoice a Stripe invoice paid (its payment's reference: Stripe's ``invoice.paid`` or the API's ``pay``)."""
    q = select(PaymentRow.invoice_id).where(
        PaymentRow.reference == stripe_invoice_id, PaymentRow.outcome == "succeeded"
    )
    return s.scalars(q.limit(1)).first()


def stripe_refund(
    s: Session, invoice_id: str, charge_id: str, refunded_total: int, reason: str, at: datetime
) -> CreditNoteRow | None:
    """A refund made in Stripe (``charge.refunded``) as a credit note of what the charge's refunds add to those
    already credited for it (Stripe sends the total refunded: a redelivered or older event credits nothing)."""
    by = f"stripe:{charge_id}"
    done = s.scalar(
        select(func.coalesce(func.sum(CreditNoteRow.amount), 0)).where(
            CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.created_by == by
        )
    )
    # The refunds Meterline itself pays out through Stripe (``streams.store.refunds``) come back as this event
    # too: they are credit notes already.
    ours = s.scalar(
        select(func.coalesce(func.sum(CreditNoteRow.refunded), 0)).where(
            CreditNoteRow.invoice_id == invoice_id,
            CreditNoteRow.refund_via == "stripe",
            CreditNoteRow.created_by.not_like("stripe:%"),
        )
    )
    more = refunded_total - int(done or 0) - int(ours or 0)
    if more <= 0:
        return None
    note = credit_note(s, invoice_id, more, reason, at, created_by=by, memo=f"refunded in Stripe ({charge_id})")
    if note.refunded:  # paid out in Stripe already
        note.refund_via, note.refund_status, note.refund_charge = "stripe", "succeeded", charge_id
    return note


def credit_notes(s: Session, invoice_id: str) -> list[CreditNoteRow]:
    q = select(CreditNoteRow).where(CreditNoteRow.invoice_id == invoice_id)
    return list(s.scalars(q.order_by(CreditNoteRow.created_at, CreditNoteRow.number)))


def payments(s: Session, invoice_id: str) -> list[PaymentRow]:
    q = select(PaymentRow).where(PaymentRow.invoice_id == invoice_id).order_by(PaymentRow.at, PaymentRow.id)
    return list(s.scalars(q))


def void(s: Session, invoice_id: str, at: datetime, reason: str = "void") -> InvoiceReceivableRow:
    row = get(s, invoice_id, for_update=True)
    _record(s, row, rc.void(state(row)), reason, at)
    return row


def mark_uncollectible(s: Session, invoice_id: str, at: datetime) -> InvoiceReceivableRow:
    row = get(s, invoice_id, for_update=True)
    _record(s, row, rc.mark_uncollectible(state(row)), "uncollectible", at)
    return row


def lock(s: Session, invoice_id: str) -> None:
    """Serialize changes of ``invoice_id`` until the transaction ends: a no-op write of its row, PostgreSQL's row
    lock and SQLite's database write lock (taken first, so two transactions never both read then upgrade)."""
    s.execute(
        update(InvoiceReceivableRow)
        .where(InvoiceReceivableRow.invoice_id == invoice_id)
        .values(updated_at=InvoiceReceivableRow.updated_at),
        execution_options={"synchronize_session": False},
    )


class AlreadyReissued(Exception):
    """The void invoice was reissued already (``row``: its reissue)."""

    def __init__(self, row: InvoiceReceivableRow) -> None:
        super().__init__(f"{row.reissue_of} was reissued as {row.invoice_id}")
        self.row = row


def reissued_as(s: Session, invoice_id: str) -> InvoiceReceivableRow | None:
    """The invoice reissued in place of the void ``invoice_id``, if any (at most one: reissue refuses a second)."""
    return s.scalars(select(InvoiceReceivableRow).where(InvoiceReceivableRow.reissue_of == invoice_id)).first()


def reissue(
    s: Session,
    old_id: str,
    new_id: str,
    amount_due: int | None,
    at: datetime,
    terms: rc.PaymentTerms | None = None,
    period: str | None = None,
) -> InvoiceReceivableRow:
    """Reissue ``old_id`` as ``new_id`` under the seller's next number, issued ``at`` and due by the old one's terms
    (or ``terms``), for ``amount_due`` (default: what the old one collected): a void invoice, or an open one with
    nothing paid, voided now (kept, with its number). Once: ``AlreadyReissued`` names the reissue. The new
    invoice is told as finalized (its email, its ``invoice.finalized`` event)."""
    old = get(s, old_id, for_update=True)
    done = reissued_as(s, old_id)
    if done is not None:
        raise AlreadyReissued(done)
    if old.status == "void":
        _record(s, old, state(old), "reissued", at)
    else:
        _record(s, old, rc.void(state(old)), "reissued", at)
    kept = rc.PaymentTerms(old.collection, old.net_days)  # type: ignore[arg-type]
    due = old.amount_due if amount_due is None else amount_due
    row = finalize(
        s, new_id, old.account_id, due, old.currency, terms or kept, at, seller=old.seller, reissue_of=old_id
    )
    invoice_finalized(s, row, period, at)
    return row


def overdue(s: Session, today: date, account_id: str | None = None) -> list[InvoiceReceivableRow]:
    """Open invoices after their due date, oldest due first (``rating.receivables.Receivable.overdue``)."""
    q = select(InvoiceReceivableRow).where(InvoiceReceivableRow.status == "open", InvoiceReceivableRow.due_date < today)
    if account_id is not None:
        q = q.where(InvoiceReceivableRow.account_id == account_id)
    return list(s.scalars(q.order_by(InvoiceReceivableRow.due_date, InvoiceReceivableRow.invoice_id)))


def history(s: Session, invoice_id: str) -> list[InvoiceStateRow]:
    q = select(InvoiceStateRow).where(InvoiceStateRow.invoice_id == invoice_id).order_by(InvoiceStateRow.id)
    return list(s.scalars(q))


def changes_after(s: Session, event_id: int, limit: int = 5_000) -> list[ReceivableChange]:
    """The receivable changes after ``event_id``, in order, as ClickHouse rows."""
    q = (
        select(InvoiceStateRow, InvoiceReceivableRow)
        .join(InvoiceReceivableRow, InvoiceReceivableRow.invoice_id == InvoiceStateRow.invoice_id)
        .where(InvoiceStateRow.id > event_id)
        .order_by(InvoiceStateRow.id)
        .limit(limit)
    )
    return [
        ReceivableChange(
            event_id=h.id,
            invoice_id=r.invoice_id,
            account_id=r.account_id,
            number=r.number,
            currency=r.currency,
            status=h.status,
            amount_due=h.amount_due,
            amount_paid=h.amount_paid,
            issued_at=r.issued_at,
            due_date=r.due_date,
            reason=h.reason,
            at=h.at,
        )
        for h, r in s.execute(q).tuples()
    ]


def mirror(make: sessionmaker[Session], target: Receivables, batch: int = 5_000) -> int:
    """Copy the changes ClickHouse lacks (after its latest ``event_id``) and return how many: safe to run again
    or concurrently, a change written twice is one row (docs/analytics.md, "Receivables")."""
    # From a little before the latest mirrored: on PostgreSQL a lower id may commit after a higher one was
    # mirrored; a change copied twice stays one row.
    done, after = 0, max(0, target.last_event_id() - LOOKBACK)
    while True:
        with make() as s:
            changes = changes_after(s, after, batch)
        if not changes:
            return done
        target.write(changes)
        done, after = done + len(changes), changes[-1].event_id
