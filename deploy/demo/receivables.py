"""The demo's receivables (issue 14): the month's finalized invoices opened in a billing store of the run, then two
months of collection played with time passed in — card payments (one corrected by a credit note refunded through
Stripe Refunds), a failed charge dunned to ``unpaid`` and paid back by wire, net-30 enterprise invoices reminded,
one corrected by a credit note, one overdue into ``past_due`` —
through the same store functions and collection loop as the billing API; the notices are sent to the stack's
SMTP server and the receivables mirrored to ClickHouse."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from rating import lifecycle
from rating import receivables as rc
from rating.catalog.loader import Catalog
from rating.money import minor_units, money_display
from rating.periods import Period
from sinks.clickhouse.receivables import Receivables
from sinks.clickhouse.usage_queries import SettledReads
from streams.dunning.runner import DunningRunner
from streams.notify.invoices import invoice_finalized
from streams.notify.relays import EmailRelay
from streams.notify.settings import smtp_settings
from streams.settings import Settings
from streams.store import receivables as rcv
from streams.store import subscription_store as store
from streams.store.db import make_engine, migrate, sessions
from streams.store.models import NoticeRow, Organization, Subscription
from streams.store.orgs import add_member

RECEIVABLE_HEADERS = ["status", "invoices", "billed", "still owed"]
OVERDUE_HEADERS = ["days overdue", "invoices", "still owed"]


@dataclass
class ReceivableFacts:
    by_status: list[tuple[str, int, Decimal, Decimal]] = field(default_factory=list)  # status, n, due, remaining
    overdue: list[tuple[str, int, Decimal]] = field(default_factory=list)  # age bucket, n, remaining
    story: list[tuple[str, str]] = field(default_factory=list)  # when, what happened
    emails: int = 0
    maildir: str = ""
    store_url: str = ""  # the run's billing store (the billing app reads it)
    owners: dict[str, str] = field(default_factory=dict)  # organization -> its owner in that store

    def status_cells(self) -> list[list[str]]:
        return [[s, f"{n:,}", money_display(d), money_display(r)] for s, n, d, r in self.by_status]

    def overdue_cells(self) -> list[list[str]]:
        return [[b, f"{n:,}", money_display(v)] for b, n, v in self.overdue]

    def timeline(self) -> list[tuple[str, str]]:
        """The story by day (it is told account by account, so its days come out of order)."""
        return sorted(self.story, key=lambda e: e[0])


def _dollars(minor: int) -> Decimal:
    return Decimal(minor) / 100


def play_receivables(
    s: Settings, client: Any, catalog: Catalog, period: Period, orgs: dict[str, str], now: datetime
) -> ReceivableFacts:
    """Open and collect the period's invoices; ``orgs`` are the organization accounts (they have billing emails)
    with their first member, made the organization's owner in the store (to sign in to the billing app)."""
    facts = ReceivableFacts(owners=dict(orgs))
    db = s.data_dir / "demo" / f"billing-{s.clickhouse_database}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    facts.store_url = f"sqlite:///{db.resolve()}"
    engine = make_engine(facts.store_url)
    migrate(engine)
    make = sessions(engine)
    tiers = catalog.at(period.start).tiers
    docs = SettledReads(lambda: client, s.clickhouse_database).finalized_since(period.start)
    docs = [d for d in docs if d["period"] == period.key]
    with make.begin() as ss:
        for org in orgs:
            email = f"billing@{org}.example"
            ss.add(Organization(id=org, name=org, billing_email=email, created_at=now, updated_at=now))
            ss.flush()
            add_member(ss, org, orgs[org], "owner", now)
        for doc in docs:
            tier = tiers.get(str(doc["tier"]))
            terms = rc.terms_of(tier.payment_terms) if tier is not None else rc.PaymentTerms()
            amount = minor_units(Decimal(doc["total"]))
            row = rcv.finalize(ss, doc["invoice_id"], doc["account_id"], amount, doc["currency"], terms, now)
            if doc["account_id"] in orgs:  # people have no billing email in the demo: only organizations are told
                invoice_finalized(ss, row, period.key, now)
    opened = {d["account_id"]: d["invoice_id"] for d in docs}
    charged = [
        a for a in opened if a in orgs and tiers[_tier(docs, a)].payment_terms.collection == "charge_automatically"
    ]
    invoiced = [a for a in opened if a in orgs and tiers[_tier(docs, a)].payment_terms.collection == "send_invoice"]
    facts.story.append((f"{now:%Y-%m-%d}", f"{len(docs)} invoices of {period.key} finalized and opened"))

    declined = charged[0] if charged else None
    at = now + timedelta(hours=1)
    with make.begin() as ss:
        for n, account in enumerate(opened):
            inv = rcv.get(ss, opened[account])
            if inv.status != "open" or account == declined or inv.collection != "charge_automatically":
                continue
            stripe_invoice = f"in_demo{n:05d}"  # what its Stripe invoice.paid names (stripe-mock knows any id)
            rcv.record_payment(
                ss,
                inv.invoice_id,
                inv.amount_due,
                "card",
                at,
                source="stripe",
                recorded_by="stripe",
                reference=stripe_invoice,
            )
    refunded = next((a for a in charged if a != declined), None)
    if refunded is not None:
        _refund_through_stripe(s, make, opened[refunded], at + timedelta(days=2), facts)
    story_accounts = [a for a in ([declined] if declined else []) + invoiced[:3]]
    with make.begin() as ss:
        for account in story_accounts:
            _subscribe(ss, account, _tier(docs, account), period, now)
    runner = DunningRunner(make, s.dunning_schedule, charge=lambda inv, attempt: "card_declined", catalog=catalog)
    if declined is not None:
        with make.begin() as ss:
            sub = store.open_subscription(ss, declined)
            assert sub is not None
            failed = lifecycle.payment_failed(store.plan_of(sub), at, s.dunning_schedule.grace)
            assert failed is not None
            store.save_plan(ss, sub, failed, at, "payment_failed")
        days = s.dunning_schedule.retry_days
        said = ", ".join(str(d) for d in days)
        facts.story.append((f"{at:%Y-%m-%d}", f"{declined}: card declined, past_due; retries on days {said}"))
        for n, day in enumerate(days, 1):
            t = at + timedelta(days=day, minutes=1)
            runner.run_once(t)
            now_status = _status(make, declined, t)
            facts.story.append((f"{t:%Y-%m-%d}", f"{declined}: retry {n} of {len(days)} declined, now {now_status}"))
        t = at + timedelta(days=s.dunning_schedule.retry_days[-1] + 2)
        with make.begin() as ss:
            inv = rcv.get(ss, opened[declined])
            owed = rcv.state(inv)
            rcv.record_payment(
                ss, inv.invoice_id, owed.amount_remaining, "wire", t, source="operator", recorded_by="ops"
            )
        runner.run_once(t)
        facts.story.append((f"{t:%Y-%m-%d}", f"{declined}: paid by wire transfer, now {_status(make, declined, t)}"))
    if invoiced:
        _net_terms(make, runner, opened, invoiced, now, facts)
    with make() as ss:
        rows = [rcv.get(ss, i) for i in opened.values()]
    final_day = (now + timedelta(days=61)).date()
    _summarise(rows, final_day, facts)
    asyncio.run(EmailRelay(make, smtp_settings(s), clock=lambda: now).drain())
    with make() as ss:
        facts.emails = len(list(ss.scalars(select(NoticeRow.id).where(NoticeRow.sent_at.is_not(None)))))
    facts.maildir = str((s.data_dir / "smtp" / "maildir").resolve())
    rcv.mirror(make, Receivables(client, s.clickhouse_database))
    engine.dispose()
    return facts


def _refund_through_stripe(s: Settings, make: Any, invoice_id: str, t: datetime, facts: ReceivableFacts) -> None:
    """A card-paid invoice corrected by a credit note whose refund goes back through Stripe Refunds (stripe-mock),
    as the billing API does (docs/invoices.md, "Refunds")."""
    from streams.dunning.refunds import stripe_refunder
    from streams.settlement.job import stripe_client
    from streams.store import audit, refunds

    with make.begin() as ss:
        inv = rcv.get(ss, invoice_id)
        if inv.status != "paid" or inv.amount_due <= 0:
            return
        amount = min(1_000, inv.amount_due)
        note = rcv.credit_note(ss, invoice_id, amount, "duplicate", t, created_by="ops", memo="demo: charged twice")
        note_id, number = note.id, note.number
    done = refunds.pay_out(make, stripe_refunder(stripe_client(s)), note_id, t, audit.Origin("operator:demo"))
    how = (
        f"refunded through Stripe ({done.refund_reference})"
        if done.refund_status == "succeeded"
        else (f"Stripe refund {done.refund_status} ({done.refund_failure}), retried by the collection loop")
    )
    what = f"{inv.account_id}: credit note {number} of {money_display(_dollars(amount))}, {how}"
    facts.story.append((f"{t:%Y-%m-%d}", what))


def _tier(docs: list[dict[str, Any]], account: str) -> str:
    return next(str(d["tier"]) for d in docs if d["account_id"] == account)


def _subscribe(ss: Any, account: str, tier: str, period: Period, now: datetime) -> None:
    row = Subscription(
        id=f"msub_demo_{account}"[:40],
        organization_id=account,
        account_id=account,
        account_kind="org",
        anchor=period.start.date(),
        tier=tier,
        interval="year" if tier == "enterprise" else "month",
        status="active",
        open_account_id=account,
        created_at=now,
        updated_at=now,
    )
    ss.add(row)
    ss.flush()
    store.save_plan(ss, row, lifecycle.Plan(tier, row.interval, "active"), now, "create")  # type: ignore[arg-type]


def _status(make: Any, account: str, t: datetime) -> str:
    with make() as ss:
        v = store.history(ss, account).at(t)
        return v.status if v is not None else "none"


def _net_terms(
    make: Any, runner: DunningRunner, opened: dict[str, str], invoiced: list[str], now: datetime, facts: ReceivableFacts
) -> None:
    """Net-30 enterprise invoices: one paid by wire, one corrected by a credit note then paid, the rest overdue."""
    paid, corrected = invoiced[0], invoiced[1] if len(invoiced) > 1 else None
    with make.begin() as ss:
        inv = rcv.get(ss, opened[paid])
        t = now + timedelta(days=20)
        rcv.record_payment(ss, inv.invoice_id, inv.amount_due, "wire", t, source="operator", recorded_by="ops")
        facts.story.append((f"{t:%Y-%m-%d}", f"{paid}: net-30 invoice {inv.number} paid by wire transfer"))
    if corrected is not None:
        t = now + timedelta(days=24)
        with make.begin() as ss:
            inv = rcv.get(ss, opened[corrected])
            credit = min(50_000, inv.amount_due)
            note = rcv.credit_note(ss, inv.invoice_id, credit, "order_change", t, created_by="ops", memo="demo")
            left = rcv.state(rcv.get(ss, inv.invoice_id)).amount_remaining
            if left:
                rcv.record_payment(ss, inv.invoice_id, left, "wire", t, source="operator", recorded_by="ops")
        facts.story.append(
            (f"{t:%Y-%m-%d}", f"{corrected}: credit note {note.number} of {money_display(_dollars(credit))}, rest paid")
        )
    for days in (27, 31, 38, 45, 61):
        t = now + timedelta(days=days)
        done = runner.run_once(t)
        if done.reminders or done.past_due:
            parts = [f"{done.reminders} reminder(s)"] if done.reminders else []
            parts += [f"{done.past_due} account(s) past_due"] if done.past_due else []
            what = ", ".join(parts)
            facts.story.append((f"{t:%Y-%m-%d}", f"net-30 invoices: {what}"))


def _summarise(rows: list[Any], today: date, facts: ReceivableFacts) -> None:
    by = Counter[str]()
    due, left = Counter[str](), Counter[str]()
    buckets, bucket_left = Counter[str](), Counter[str]()
    for r in rows:
        state = rcv.state(r)
        status = "overdue" if state.overdue(today) else r.status
        by[status] += 1
        due[status] += r.amount_due
        left[status] += state.amount_remaining
        if state.overdue(today):
            b = rc.age_bucket(state.days_overdue(today))
            buckets[b] += 1
            bucket_left[b] += state.amount_remaining
    facts.by_status = [(k, by[k], _dollars(due[k]), _dollars(left[k])) for k in sorted(by)]
    facts.overdue = [(k, buckets[k], _dollars(bucket_left[k])) for k in sorted(buckets)]


def billing_app_link(s: Settings, facts: ReceivableFacts, org: str, now: datetime) -> tuple[str, str]:
    """(the command that serves this run's data, a one-time sign-in link for ``org``'s owner)."""
    from streams.api.web_session import link_ttl, login_url
    from streams.store import web_sessions

    engine = make_engine(facts.store_url)
    try:
        with sessions(engine).begin() as ss:
            link = web_sessions.create_link(ss, facts.owners[org], org, web_sessions.OPERATOR, now, link_ttl(s))
    finally:
        engine.dispose()
    serve = (
        f"METERLINE_API_DATABASE_URL={facts.store_url} METERLINE_CLICKHOUSE_DATABASE={s.clickhouse_database} "
        f"METERLINE_TOPIC_PREFIX={s.topic_prefix} meterline api serve"
    )
    return serve, login_url(s, link.token)
