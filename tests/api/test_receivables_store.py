"""Invoice receivables in the billing store, on SQLite and PostgreSQL: numbers per seller are gapless and unique
under concurrent finalization (a rolled-back one gives its number back), partial payments, void and reissue,
the overdue list, and the state history (docs/analytics.md, "Receivables")."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from rating import lifecycle
from rating.catalog.loader import load_catalog
from rating.receivables import PaymentTerms, TransitionError
from streams.store import orgs
from streams.store import receivables as rcv
from streams.store import subscription_store as store
from streams.store.db import sessions
from streams.store.models import InvoiceReceivableRow, Subscription

NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)
NET30 = PaymentTerms("send_invoice", 30)


class Rollback(Exception):
    pass


def test_concurrent_finalizations_take_gapless_unique_numbers(engine: Engine) -> None:
    make = sessions(engine)
    with make.begin() as s:  # the seller's counter exists; the first-insert race is the next test's
        rcv.finalize(s, "inv_seed", "acct_0", 100, "usd", PaymentTerms(), NOW)
    start = threading.Barrier(9)
    errors: list[BaseException] = []

    def finalize(i: int) -> None:
        try:
            start.wait(10)
            with make.begin() as s:
                rcv.finalize(s, f"inv_{i}", f"acct_{i}", 1000 + i, "usd", NET30, NOW)
                if i == 4:
                    raise Rollback  # took a number, then failed: the number must go to someone else
        except Rollback:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finalize, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with make() as s:
        rows = [rcv.get(s, f"inv_{i}") for i in range(9) if i != 4]
        with pytest.raises(rcv.NotFinalized):
            rcv.get(s, "inv_4")
    assert sorted(r.sequence for r in rows) == list(range(2, 10))
    assert sorted(r.number for r in rows) == [f"ML-{n:06d}" for n in range(2, 10)]


def test_the_first_invoices_of_a_new_seller_race_for_its_counter(engine: Engine) -> None:
    make = sessions(engine)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def finalize(i: int) -> None:
        try:
            start.wait(10)
            with make.begin() as s:
                rcv.finalize(s, f"new_{i}", "acct", 500, "eur", PaymentTerms(), NOW, seller="EU")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finalize, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []  # a losing first insert falls back to the bump in its savepoint
    with make() as s:
        assert sorted(rcv.get(s, f"new_{i}").sequence for i in range(4)) == [1, 2, 3, 4]


def test_lifecycle_partial_payment_void_reissue_and_overdue(engine: Engine) -> None:
    make = sessions(engine)
    with make.begin() as s:
        a = rcv.finalize(s, "inv_a", "acct", 12_345, "usd", NET30, NOW)
        assert (a.number, a.status, a.due_date, a.amount_due) == ("ML-000001", "open", date(2026, 7, 31), 12_345)
        again = rcv.finalize(s, "inv_a", "acct", 12_345, "usd", NET30, NOW)  # idempotent: no second number
        assert again.number == "ML-000001"
        auto = rcv.finalize(s, "inv_auto", "acct", 900, "usd", PaymentTerms(), NOW)
        assert (auto.number, auto.due_date) == ("ML-000002", date(2026, 7, 1))
    with make.begin() as s:
        rcv.pay(s, "inv_a", 10_000, NOW + timedelta(days=3))
        row = rcv.get(s, "inv_a")
        assert (row.status, row.amount_paid, rcv.state(row).amount_remaining) == ("open", 10_000, 2_345)
        with pytest.raises(TransitionError):
            rcv.pay(s, "inv_a", 2_346, NOW)
        with pytest.raises(TransitionError):
            rcv.void(s, "inv_a", NOW)  # money came in: refund first
    with make() as s:
        assert [r.invoice_id for r in rcv.overdue(s, date(2026, 7, 31))] == ["inv_auto"]
        assert [r.invoice_id for r in rcv.overdue(s, date(2026, 8, 1))] == ["inv_auto", "inv_a"]
    with make.begin() as s:
        rcv.pay(s, "inv_a", 2_345, NOW + timedelta(days=40))
        assert rcv.get(s, "inv_a").status == "paid"
        new = rcv.reissue(s, "inv_auto", "inv_auto_2", 800, NOW + timedelta(days=1))
        assert (new.number, new.reissue_of, new.status) == ("ML-000003", "inv_auto", "open")
        old = rcv.get(s, "inv_auto")
        assert (old.number, old.status) == ("ML-000002", "void")
        rcv.mark_uncollectible(s, "inv_auto_2", NOW + timedelta(days=90))
        with pytest.raises(TransitionError):
            rcv.pay(s, "inv_auto", 1, NOW)
    with make() as s:
        steps = [(h.reason, h.status, h.amount_paid) for h in rcv.history(s, "inv_a")]
        assert steps == [("finalize", "open", 0), ("payment", "open", 10_000), ("payment", "paid", 12_345)]
        assert [h.reason for h in rcv.history(s, "inv_auto")] == ["finalize", "reissued"]
        assert rcv.overdue(s, date(2026, 12, 1)) == []  # paid, void, and uncollectible (written off)


@pytest.mark.parametrize(
    ("tier", "contract", "due"),
    [
        ("standard", None, date(2026, 7, 1)),  # charged automatically: due on finalization
        ("enterprise", None, date(2026, 7, 31)),  # the catalog's net 30
        ("enterprise", {"payment_terms": {"collection": "send_invoice", "days_until_due": 60}}, date(2026, 8, 30)),
        ("enterprise", {"payment_terms": {"collection": "send_invoice", "days_until_due": 45}}, date(2026, 8, 15)),
    ],
)
def test_a_finalized_invoice_is_due_by_its_tier_or_contract_terms(
    engine: Engine, tier: str, contract: dict[str, Any] | None, due: date
) -> None:
    june = datetime(2026, 6, 1, tzinfo=UTC)
    with sessions(engine).begin() as s:
        org = orgs.create_organization(s, "Acme", "ann", june)
        row = Subscription(
            id="msub_0000000000000009",
            organization_id=org.id,
            account_id=org.id,
            account_kind="org",
            anchor=date(2026, 6, 1),
            tier=tier,
            interval="month",
            status="active",
            contract=contract,
            created_at=june,
            updated_at=june,
        )
        s.add(row)
        s.flush()
        store.save_plan(s, row, lifecycle.Plan(tier, "month", "active"), june, "create")
    tiers = load_catalog().at(june).tiers
    with sessions(engine).begin() as s:
        opened = rcv.open_finalized(s, tiers, f"in_{org.id}_2026-06", org.id, "1234.56", "usd", NOW, NOW)
        assert (opened.number, opened.due_date, opened.amount_due, opened.status) == ("ML-000001", due, 123_456, "open")
        again = rcv.open_finalized(s, tiers, f"in_{org.id}_2026-06", org.id, "1234.56", "usd", NOW, NOW)
        assert again.number == "ML-000001"


def test_payments_are_recorded_with_their_outcome_and_applied_when_they_succeed(engine: Engine) -> None:
    """A net-30 invoice of 1,000.00: a failed card attempt, a 400.00 wire, an over-payment refused, the rest."""
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_w", "acme", 100_000, "usd", NET30, NOW)
        rcv.record_payment(
            s, "inv_w", 100_000, "card", NOW, source="api", recorded_by="ann", failure_reason="card_declined"
        )
        rcv.record_payment(
            s, "inv_w", 40_000, "wire", NOW + timedelta(days=5), source="operator", recorded_by="op", reference="W-1"
        )
    with make.begin() as s, pytest.raises(TransitionError):
        rcv.record_payment(s, "inv_w", 60_001, "wire", NOW, source="operator", recorded_by="op")
    with make.begin() as s, pytest.raises(ValueError, match="method"):
        rcv.record_payment(s, "inv_w", 1, "bitcoin", NOW, source="operator", recorded_by="op")
    with make.begin() as s:
        assert (rcv.get(s, "inv_w").status, rcv.get(s, "inv_w").amount_paid) == ("open", 40_000)
        rcv.record_payment(s, "inv_w", 60_000, "wire", NOW + timedelta(days=31), source="operator", recorded_by="op")
    with make() as s:
        row = rcv.get(s, "inv_w")
        assert (row.status, row.amount_paid, rcv.state(row).amount_remaining) == ("paid", 100_000, 0)
        got = [(p.method, p.amount, p.outcome, p.failure_reason, p.reference) for p in rcv.payments(s, "inv_w")]
        assert got == [
            ("card", 100_000, "failed", "card_declined", None),
            ("wire", 40_000, "succeeded", None, "W-1"),
            ("wire", 60_000, "succeeded", None, None),
        ]
        assert [h.reason for h in rcv.history(s, "inv_w")] == ["finalize", "payment:wire", "payment:wire"]


def test_a_refund_goes_back_through_stripe_only_as_far_as_stripe_collected(engine: Engine) -> None:
    """An invoice paid partly by card through Stripe, partly by wire: a refund Stripe can pay back from its own
    payment goes through Stripe Refunds (pending), a larger one is owed by hand (docs/invoices.md, "Refunds")."""
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_mix", "acct", 10_000, "usd", NET30, NOW)
        rcv.record_payment(s, "inv_mix", 3_000, "card", NOW, source="stripe", recorded_by="stripe", reference="in_s1")
        rcv.record_payment(s, "inv_mix", 7_000, "wire", NOW, source="operator", recorded_by="ops", reference="B-1")
        big = rcv.credit_note(s, "inv_mix", 5_000, "order_change", NOW, created_by="ops")
        small = rcv.credit_note(s, "inv_mix", 2_000, "duplicate", NOW, created_by="ops")
        more = rcv.credit_note(s, "inv_mix", 1_500, "duplicate", NOW, created_by="ops")  # Stripe has 1,000 left
        assert rcv.stripe_refundable(s, "inv_mix") == 1_000
        got = [(n.refunded, n.refund_via, n.refund_status) for n in (big, small, more)]
        assert got == [(5_000, "manual", "owed"), (2_000, "stripe", "pending"), (1_500, "manual", "owed")]
        methods = [(p.amount, p.method) for p in rcv.payments(s, "inv_mix") if p.outcome == "refunded"]
        assert sorted(methods) == [(1_500, "other"), (2_000, "card"), (5_000, "other")]
        credit_only = rcv.finalize(s, "inv_open", "acct", 1_000, "usd", NET30, NOW)
        note = rcv.credit_note(s, credit_only.invoice_id, 400, "order_change", NOW, created_by="ops")
        assert (note.refunded, note.refund_via, note.refund_status) == (0, None, None)  # nothing to pay back


def _interleaved(engine: Engine, first: Any, second: Any) -> list[str]:
    """``first`` reads the invoice, then (held after its read by failure injection) ``second`` runs whole, then
    ``first`` goes on: the outcomes, "ok" or the TransitionError's text, in that order. A store that serializes
    changes of one invoice makes ``second`` wait for ``first`` (PostgreSQL's row lock, SQLite's write lock), so
    ``second`` reads what ``first`` wrote."""
    import rating.receivables as rc

    make = sessions(engine)
    read, second_done = threading.Event(), threading.Event()
    out: dict[str, str] = {}
    real_credit, real_pay = rc.credit, rc.pay

    def held(fn: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            if threading.current_thread().name == "first" and not read.is_set():
                read.set()
                second_done.wait(3)  # a store that serializes keeps ``second`` waiting: give up waiting then
            return fn(*args)

        return wrapper

    def run(name: str, change: Any) -> None:
        try:
            with make.begin() as s:
                change(s)
            out[name] = "ok"
        except TransitionError as exc:
            out[name] = str(exc)
        finally:
            if name == "second":
                second_done.set()

    rc.credit, rc.pay = held(real_credit), held(real_pay)  # type: ignore[assignment]
    try:
        one = threading.Thread(target=run, args=("first", first), name="first")
        one.start()
        assert read.wait(10)
        two = threading.Thread(target=run, args=("second", second), name="second")
        two.start()
        one.join(60)
        two.join(60)
    finally:
        rc.credit, rc.pay = real_credit, real_pay  # type: ignore[assignment]
    return [out["first"], out["second"]]


def test_concurrent_credit_notes_never_credit_more_than_the_invoice(engine: Engine) -> None:
    """$100.00 open: two operators credit $60.00 each at once. Worked by hand: the first lowers what is owed to
    $40.00; the second exceeds it and is refused. Never two notes for $120.00 of a $100.00 invoice."""
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_cn", "acct", 10_000, "usd", NET30, NOW)

    def credit(s: Any) -> None:
        rcv.credit_note(s, "inv_cn", 6_000, "order_change", NOW, created_by="ops")

    first, second = _interleaved(engine, credit, credit)
    assert first == "ok"
    assert second != "ok"
    with make() as s:
        row = rcv.get(s, "inv_cn")
        notes = rcv.credit_notes(s, "inv_cn")
    assert [n.amount for n in notes] == [6_000]
    assert (row.status, row.amount_due, row.amount_paid) == ("open", 4_000, 0)


def test_concurrent_payments_never_pay_more_than_is_owed(engine: Engine) -> None:
    """$100.00 open: two wire transfers of $70.00 recorded at once. By hand: the first leaves $30.00 owed, the second
    exceeds it and is refused (nothing recorded): amount_paid $70.00, not $140.00 on a $100.00 invoice."""
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_pay", "acct", 10_000, "usd", NET30, NOW)

    def wire(s: Any) -> None:
        rcv.record_payment(s, "inv_pay", 7_000, "wire", NOW, source="manual", recorded_by="ops", reference="W")

    first, second = _interleaved(engine, wire, wire)
    assert first == "ok"
    assert second != "ok"
    with make() as s:
        row = rcv.get(s, "inv_pay")
        paid = [p.amount for p in rcv.payments(s, "inv_pay")]
    assert paid == [7_000]
    assert (row.status, row.amount_due, row.amount_paid) == ("open", 10_000, 7_000)


def test_two_operators_recording_one_refund_record_it_once(engine: Engine) -> None:
    """A wire-paid $100.00 invoice credited $25.00: $25.00 owed back. Two operators record the bank refund at once
    (the first holds after reading the note): one is recorded, the other told it is recorded already."""
    from streams.store import refunds
    from streams.store.audit import Origin

    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_rf", "acct", 10_000, "usd", NET30, NOW)
        rcv.record_payment(s, "inv_rf", 10_000, "wire", NOW, source="manual", recorded_by="ops", reference="W")
        number = rcv.credit_note(s, "inv_rf", 2_500, "order_change", NOW, created_by="ops").number
    read, second_done = threading.Event(), threading.Event()
    out: dict[str, str] = {}

    def record(name: str, reference: str) -> None:
        try:
            with make.begin() as s:
                note = refunds.find(s, "inv_rf", number, for_update=True)
                assert note is not None
                if name == "first":
                    read.set()
                    second_done.wait(3)  # a store that serializes keeps the second waiting: give up then
                refunds.record_manual(s, note, reference, NOW, Origin(f"operator:{name}"))
            out[name] = "ok"
        except TransitionError as exc:
            out[name] = str(exc)
        finally:
            if name == "second":
                second_done.set()

    one = threading.Thread(target=record, args=("first", "BANK-1"))
    one.start()
    assert read.wait(10)
    two = threading.Thread(target=record, args=("second", "BANK-2"))
    two.start()
    one.join(60)
    two.join(60)
    assert out["first"] == "ok"
    assert "recorded, not owed" in out["second"]
    with make() as s:
        note = refunds.find(s, "inv_rf", number)
        assert note is not None
        assert (note.refund_status, note.refund_reference) == ("recorded", "BANK-1")


def test_payments_credit_notes_refunds_and_a_reissue_add_up(engine: Engine) -> None:
    """Worked by hand from the rule (docs/invoices.md, "Credit notes"): a credit note first lowers what is still
    owed, then refunds what was paid; a void invoice's reissue collects what the void one still collected.

    A: $100.00 open, $30.00 wired: $70.00 remaining. A $50.00 note lowers what is owed ($50.00 due, $30.00 paid,
    $20.00 remaining, nothing refunded). A $40.00 note credits the $20.00 still owed and refunds $20.00 of the
    $30.00 paid: $10.00 due, $10.00 kept, paid; $20.00 owed back to the customer (a wire: by hand).
    B: $100.00 open, a $25.00 note: $75.00 due; voided and reissued: the reissue is due $75.00, and paying it
    settles it. Never more credited than invoiced: A's notes total $90.00 of $100.00, B's $25.00."""
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_a", "acct", 10_000, "usd", NET30, NOW)
        rcv.finalize(s, "inv_b", "acct", 10_000, "usd", NET30, NOW)
        rcv.record_payment(s, "inv_a", 3_000, "wire", NOW, source="manual", recorded_by="ops", reference="W1")
        one = rcv.credit_note(s, "inv_a", 5_000, "order_change", NOW, created_by="ops")
        a = rcv.get(s, "inv_a")
        assert (one.credited, one.refunded, one.refund_status) == (5_000, 0, None)
        assert (a.status, a.amount_due, a.amount_paid, rcv.state(a).amount_remaining) == ("open", 5_000, 3_000, 2_000)
        two = rcv.credit_note(s, "inv_a", 4_000, "order_change", NOW, created_by="ops")
        assert (two.credited, two.refunded, two.refund_via, two.refund_status) == (2_000, 2_000, "manual", "owed")
        assert (a.status, a.amount_due, a.amount_paid, rcv.state(a).amount_remaining) == ("paid", 1_000, 1_000, 0)
        moves = sorted((p.outcome, p.amount) for p in rcv.payments(s, "inv_a"))  # at one time: in any order
        assert moves == [("refunded", 2_000), ("succeeded", 3_000)]
        with pytest.raises(TransitionError):  # $10.00 is all it still collects
            rcv.credit_note(s, "inv_a", 1_001, "order_change", NOW, created_by="ops")

        rcv.credit_note(s, "inv_b", 2_500, "order_change", NOW, created_by="ops")
        rcv.void(s, "inv_b", NOW)
        new = rcv.reissue(s, "inv_b", "inv_b-r1", None, NOW + timedelta(days=1))
        assert (new.status, new.amount_due, new.amount_paid) == ("open", 7_500, 0)
        with pytest.raises(TransitionError):  # the void one is credited no more
            rcv.credit_note(s, "inv_b", 100, "order_change", NOW, created_by="ops")
        rcv.record_payment(s, "inv_b-r1", 7_500, "wire", NOW, source="manual", recorded_by="ops", reference="W2")
        assert (new.status, new.amount_paid, rcv.state(new).amount_remaining) == ("paid", 7_500, 0)


def test_a_finalized_document_reads_under_stripes_statuses_without_being_opened(engine: Engine) -> None:
    """``meterline invoice preview`` (``known_state``): the warehouse's ``final`` reads ``open`` while nobody opened
    the receivable (and numbers nothing); once opened and paid, its state from the store; a draft as it is."""
    make = sessions(engine)
    doc = {"invoice_id": "in_kn_2026-06", "account_id": "kn", "status": "final", "total": "12.50"}
    with make.begin() as s:
        assert rcv.known_state(s, doc, NOW.date()) == {**doc, "status": "open"}
        assert s.get(InvoiceReceivableRow, "in_kn_2026-06") is None  # a look numbers nothing
        rcv.finalize(s, "in_kn_2026-06", "kn", 1250, "usd", NET30, NOW)
        rcv.record_payment(s, "in_kn_2026-06", 1250, "wire", NOW, source="operator", recorded_by="ops")
        got = rcv.known_state(s, doc, NOW.date())
        assert (got["status"], got["amount_due"], got["amount_paid"], got["amount_remaining"]) == (
            "paid",
            1250,
            1250,
            0,
        )
        assert got["number"].startswith("ML-") and got["due_date"] == date(2026, 7, 31)
        draft = {**doc, "status": "draft"}
        assert rcv.known_state(s, draft, NOW.date()) is draft
