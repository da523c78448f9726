"""``meterline invoice preview``: an account's invoice document for a period, on demand.

Like ``meterline settle`` (``settle_cmd``), it reads the subscription histories from
``billing.subscriptions`` and settled data from ClickHouse: with embedded chDB, run it while no worker
holds the data directory, or through the local warehouse bridge (``meterline stack up``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.cli.settle_cmd import open_settler, period_key
from streams.errors import MeterlineError
from streams.store import refunds

INVOICE_ID_HELP = "the invoice id (in_<account>_<period>, or in_<account>_<period>-r<n> for a reissue)"


def cents(text: str) -> Decimal:
    """An amount as the API takes a credit note's (``CreditNoteIn``): digits with at most two decimals,
    so a mistyped ``10.005`` is refused, never rounded to a cent the operator did not write."""
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        raise argparse.ArgumentTypeError(f"not an amount in whole cents: {text!r} (e.g. 120.50)")
    return Decimal(text)


def register(sub: Any) -> None:
    inv: argparse.ArgumentParser = sub.add_parser("invoice", help="invoices", description="Invoices.")
    isub = inv.add_subparsers(dest="invoice_command", metavar="ACTION", required=True)
    prev = isub.add_parser(
        "preview",
        help="print an account's invoice document for a period",
        description="The invoice document of one account and usage period (docs/architecture.md §10): the finalized "
        "invoice if the period was closed, with its state from the billing store under Stripe's statuses (open, "
        "paid, void, uncollectible; number, due date and amounts once the API or the collection loop opened it), "
        "else a draft computed now from settled usage only (hours not settled yet are not on it).",
    )
    prev.add_argument("--account", required=True)
    prev.add_argument("--period", required=True, type=period_key, help="YYYY-MM, the month the period starts in")
    prev.add_argument("--json", action="store_true", help="print the JSON document (default: a table)")
    prev.set_defaults(func=_preview)
    rec = isub.add_parser(
        "record-payment",
        help="record a payment received outside Stripe (a wire transfer, a check)",
        description="Records a payment of a finalized invoice received outside Stripe, as the platform operator: "
        "applied to what the invoice owes (a partial payment keeps it open; more than remains is refused), and "
        'kept with its method and reference in the invoice\'s payments (docs/analytics.md, "Receivables").',
    )
    rec.add_argument("--invoice", required=True, help=INVOICE_ID_HELP)
    rec.add_argument("--amount", required=True, type=cents, help="in the invoice's currency, e.g. 1250.00")
    rec.add_argument("--method", default="wire", choices=("wire", "ach", "check", "other"))
    rec.add_argument("--reference", help="the bank's reference of the transfer")
    rec.add_argument("--by", default="operator", help="who records it (kept with the payment)")
    rec.add_argument("--json", action="store_true", help="print the payment and the invoice's state")
    rec.set_defaults(func=_record_payment)
    cn = isub.add_parser(
        "credit-note",
        help="correct a finalized invoice with a credit note (never an edit)",
        description="Issues a credit note on a finalized invoice as the platform operator: it first lowers what is "
        "still owed, then refunds the rest of what was paid (kept as a refunded payment to pay out); numbered "
        'ML-CN-000001 without gaps (docs/invoices.md, "Credit notes").',
    )
    cn.add_argument("--invoice", required=True, help=INVOICE_ID_HELP)
    cn.add_argument("--amount", required=True, type=cents, help="in the invoice's currency, e.g. 120.50")
    cn.add_argument(
        "--reason", required=True, choices=("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
    )
    cn.add_argument("--memo", help="printed on the credit note")
    cn.add_argument("--by", default="operator", help="who issues it (kept with the credit note)")
    cn.add_argument("--json", action="store_true", help="print the credit note and the invoice's state")
    cn.set_defaults(func=_credit_note)
    for name, what in (
        ("void", "void a finalized invoice with nothing paid (kept, with its number)"),
        ("mark-uncollectible", "write a finalized invoice off as uncollectible (it can still be paid)"),
    ):
        act = isub.add_parser(name, help=what, description=f"As the platform operator: {what}.")
        act.add_argument("--invoice", required=True, help=INVOICE_ID_HELP)
        act.add_argument("--json", action="store_true", help="print the invoice's state")
        act.set_defaults(func=_change_status, action=name)
    ref = isub.add_parser(
        "refund",
        help="record a credit note's refund paid by hand, or ask Stripe again for a failed one",
        description="As the platform operator: with --reference, records that the refund a credit note owes was "
        "paid back by hand (a bank transfer); without, asks Stripe Refunds again for a pending or failed one "
        '(keyed by the credit note, so it is paid once). docs/invoices.md, "Refunds". Exit 1 when still unpaid.',
    )
    ref.add_argument("--invoice", required=True, help=INVOICE_ID_HELP)
    ref.add_argument("--credit-note", required=True, help="its id (cn_...) or number (ML-CN-000001)")
    ref.add_argument("--reference", help="the bank's reference of the refund paid by hand")
    ref.add_argument("--by", default="operator", help="who records it (kept in the audit log)")
    ref.add_argument("--json", action="store_true", help="print the credit note's refund state")
    ref.set_defaults(func=_refund)
    lst = isub.add_parser(
        "refunds",
        help="list the credit notes' refunds not paid out yet",
        description="Refunds owed by hand, and Stripe refunds pending or failed (with the reason), oldest first.",
    )
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_refunds)
    rei = isub.add_parser(
        "reissue",
        help="reissue a void invoice under its own id and number",
        description="As the platform operator: reissues a void invoice (or an open one with nothing paid, voided "
        "now) as <id>-r<n> with the seller's next number, issued now and due by its terms, for what the void one "
        "collected; its document is written to the warehouse (invoice_reissues) and the account is told as for a "
        'finalized invoice. Asking again prints the same reissue (docs/invoices.md, "Reissuing").',
    )
    rei.add_argument("--invoice", required=True, help=INVOICE_ID_HELP)
    rei.add_argument("--by", default="operator", help="who reissues it (kept in the audit log)")
    rei.add_argument("--json", action="store_true", help="print the reissued invoice's id, number and state")
    rei.set_defaults(func=_reissue)
    mir = isub.add_parser(
        "mirror-receivables",
        help="copy the invoices' receivable states from the billing store to ClickHouse",
        description="Copies the receivable changes of the billing store (statuses, payments, numbers, due dates) "
        "that ClickHouse lacks into its receivable_history and receivables tables (docs/analytics.md, "
        '"Receivables"). Safe to run again or on a schedule.',
    )
    mir.add_argument("--json", action="store_true", help='print {"mirrored": N}')
    mir.set_defaults(func=_mirror)


def _preview(args: argparse.Namespace) -> int:
    from streams.settlement.settler import period_of

    _, registry, settler = open_settler()
    period = period_of(args.account, registry.history, args.period)
    doc = settler.document(args.account, period)
    if doc is None:
        raise MeterlineError(f"no invoice for {args.account} in {args.period}")
    if doc["status"] == "final":
        doc = _receivable_state(doc)
    if args.json:
        emit_json(doc)
        return 0
    print(f"{doc['account_id']}  {doc['period_start'][:10]} .. {doc['period_end'][:10]}  {doc['status']}")
    emit_table(
        ["code", "description", "quantity", "unit_price", "amount"],
        [[ln[k] for k in ("code", "description", "quantity", "unit_price", "amount")] for ln in doc["lines"]],
    )
    print(f"total {doc['currency'].upper()} {Decimal(doc['total']):.2f}")
    return 0


def _receivable_state(doc: dict[str, Any]) -> dict[str, Any]:
    """A finalized invoice under Stripe's statuses (docs/architecture.md §10): its receivable in the billing store
    (status, number, due date, amounts), else ``open``; read only: previewing numbers nothing."""
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import receivables
    from streams.store.db import sessions

    engine = _engine(load_settings())
    try:
        with sessions(engine)() as s:
            return receivables.known_state(s, doc, datetime.now(UTC).date())
    finally:
        engine.dispose()


def _mirror(args: argparse.Namespace) -> int:
    from sinks.clickhouse.migrations import migrate
    from sinks.clickhouse.receivables import Receivables
    from streams.cli.api_cmd import _engine
    from streams.settings import connect_clickhouse, load_settings
    from streams.store import receivables
    from streams.store.db import sessions

    settings = load_settings()
    client = connect_clickhouse(settings)
    migrate(client, settings.clickhouse_database, datetime.now(UTC))
    engine = _engine(settings)
    try:
        done = receivables.mirror(sessions(engine), Receivables(client, settings.clickhouse_database))
    finally:
        engine.dispose()
    if args.json:
        emit_json({"mirrored": done})
    else:
        print(f"mirrored {done} receivable changes")
    return 0


def _open_if_unread(s: Any, settings: Any, invoice_id: str) -> None:
    """An invoice settlement finalized but nobody read yet has no receivable: open it from the warehouse."""
    from rating.catalog.loader import load_catalog
    from streams.api.warehouse import Warehouse
    from streams.store import receivables
    from streams.store.models import InvoiceReceivableRow

    if s.get(InvoiceReceivableRow, invoice_id) is not None:
        return
    wh = Warehouse(settings)
    try:
        found = wh.invoice(invoice_id)
    finally:
        wh.close()
    if found is not None:
        receivables.open_document(s, load_catalog(settings.catalog_path), found[1])


def _on_invoice(
    args: argparse.Namespace,
    verb: str,
    act: Callable[[Any, Any, datetime], dict[str, Any]],
    line: str,
    after: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None,
) -> int:
    """Run ``act(session, receivable row, now)`` on ``args.invoice`` as the operator, in one transaction (opening
    the receivable of an invoice nobody read yet), then ``after(sessions, result)`` once it committed; print the
    result as JSON or as ``line`` filled in."""
    from rating.receivables import TransitionError
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import receivables
    from streams.store.db import sessions

    settings = load_settings()
    engine = _engine(settings)
    try:
        with sessions(engine).begin() as s:
            _open_if_unread(s, settings, args.invoice)
            out = act(s, args.invoice, datetime.now(UTC))
            inv = receivables.get(s, args.invoice)
            out |= {
                "invoice_id": inv.invoice_id,
                "number": inv.number,
                "status": inv.status,
                "amount_due": inv.amount_due,
                "amount_paid": inv.amount_paid,
                "amount_remaining": receivables.state(inv).amount_remaining,
            }
        if after is not None:
            out = after(sessions(engine), out)
    except receivables.NotFinalized as exc:
        raise MeterlineError(f"no finalized invoice {args.invoice}") from exc
    except TransitionError as exc:
        raise MeterlineError(f"cannot {verb}: {exc}") from exc
    finally:
        engine.dispose()
    if args.json:
        emit_json(out)
    else:
        print(line.format(**out))
    return 0


def _credit_note(args: argparse.Namespace) -> int:
    from rating.money import minor_units
    from streams.store import audit, receivables

    def act(s: Any, invoice: str, now: datetime) -> dict[str, Any]:
        note = receivables.credit_note(
            s, invoice, minor_units(args.amount), args.reason, now, created_by=f"operator:{args.by}", memo=args.memo
        )
        audit.record_credit_note(s, note, audit.Origin(f"operator:{args.by}"), now)
        return {
            "credit_note": note.number,
            "credit_note_id": note.id,
            "amount": note.amount,
            "credited": note.credited,
            "refunded": note.refunded,
            "refund_status": note.refund_status,
        }

    def pay_back(make: Any, out: dict[str, Any]) -> dict[str, Any]:
        if out["refund_status"] != "pending":
            return out
        note = refunds.pay_out(make, _refunder(), out["credit_note_id"], datetime.now(UTC), _origin(args))
        return out | {"refund_status": note.refund_status, "refund_failure": note.refund_failure}

    line = "{credit_note} on {number}: {credited} credited, {refunded} to refund (minor units, {refund_status}); "
    line += "{status}, {amount_remaining} remaining"
    return _on_invoice(args, f"credit {args.invoice}", act, line, pay_back)


def _refunder() -> Any:
    from streams.dunning.refunds import stripe_refunder
    from streams.settings import load_settings
    from streams.settlement.job import stripe_client

    return stripe_refunder(stripe_client(load_settings()))


def _origin(args: argparse.Namespace) -> Any:
    from streams.store import audit

    return audit.Origin(f"operator:{args.by}")


def _refund(args: argparse.Namespace) -> int:
    from rating.receivables import TransitionError
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store.db import sessions

    engine = _engine(load_settings())
    make = sessions(engine)
    now = datetime.now(UTC)
    try:
        with make.begin() as s:
            note = refunds.find(s, args.invoice, args.credit_note, for_update=True)
            if note is None:
                raise MeterlineError(f"no credit note {args.credit_note} on invoice {args.invoice}")
            if args.reference is not None:
                refunds.record_manual(s, note, args.reference, now, _origin(args))
            elif note.refund_via != "stripe" or note.refund_status not in ("pending", "failed"):
                state = note.refund_status or "none"
                raise MeterlineError(f"{note.number}'s refund is {state}: give --reference of a refund paid by hand")
            note_id = note.id
        note = refunds.pay_out(make, _refunder(), note_id, now, _origin(args))
    except TransitionError as exc:
        raise MeterlineError(f"cannot record the refund: {exc}") from exc
    finally:
        engine.dispose()
    out = _refund_row(note)
    if args.json:
        emit_json(out)
    else:
        print(
            f"{out['number']}: refund {out['refund_status']}"
            + (f" ({out['refund_failure']})" if out["refund_failure"] else "")
        )
    return 0 if note.refund_status in ("succeeded", "recorded") else 1


def _refund_row(note: Any) -> dict[str, Any]:
    return {
        "number": note.number,
        "id": note.id,
        "invoice_id": note.invoice_id,
        "account_id": note.account_id,
        "refunded": note.refunded,
        "currency": note.currency,
        "refund_via": note.refund_via,
        "refund_status": note.refund_status,
        "refund_reference": note.refund_reference,
        "refund_failure": note.refund_failure,
        "refund_attempts": note.refund_attempts,
    }


def _refunds(args: argparse.Namespace) -> int:
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store.db import sessions

    engine = _engine(load_settings())
    try:
        with sessions(engine)() as s:
            rows = [_refund_row(n) for n in refunds.unpaid(s)]
    finally:
        engine.dispose()
    if args.json:
        emit_json(rows)
        return 0
    cols = ["number", "invoice_id", "refunded", "currency", "refund_via", "refund_status", "refund_failure"]
    emit_table(cols, [[r[c] for c in cols] for r in rows])
    return 0


def _record_payment(args: argparse.Namespace) -> int:
    from rating.money import minor_units
    from streams.store import receivables

    def act(s: Any, invoice: str, now: datetime) -> dict[str, Any]:
        pay = receivables.record_payment(
            s,
            invoice,
            minor_units(args.amount),
            args.method,
            now,
            source="operator",
            recorded_by=f"operator:{args.by}",
            reference=args.reference,
        )
        return {"payment_id": pay.id, "amount": pay.amount, "method": pay.method, "reference": pay.reference}

    line = "{number}: {status}, {amount_remaining} (minor units) remaining"
    return _on_invoice(args, "record the payment", act, line)


def _change_status(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from rating.receivables import TransitionError
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import audit, receivables
    from streams.store.db import sessions
    from streams.store.models import InvoiceReceivableRow

    engine = _engine(load_settings())
    now = datetime.now(UTC)
    try:
        with sessions(engine).begin() as s:
            found = s.get(InvoiceReceivableRow, args.invoice)
            before = found.status if found is not None else "open"
            if args.action == "void":
                row = receivables.void(s, args.invoice, now)
            else:
                row = receivables.mark_uncollectible(s, args.invoice, now)
            audit.record_invoice(s, row, before, audit.Origin("operator:cli"), now)
            out = {"invoice_id": row.invoice_id, "number": row.number, "status": row.status}
    except receivables.NotFinalized as exc:
        raise MeterlineError(f"no finalized invoice {args.invoice} in the billing store") from exc
    except TransitionError as exc:
        raise MeterlineError(f"cannot {args.action.replace('-', ' ')} {args.invoice}: {exc}") from exc
    finally:
        engine.dispose()
    if args.json:
        emit_json(out)
    else:
        print(f"{out['number']}: {out['status']}")
    return 0


def _reissue(args: argparse.Namespace) -> int:
    from rating.catalog.loader import load_catalog
    from rating.receivables import TransitionError
    from streams.api.reissue import reissue_invoice
    from streams.api.warehouse import Warehouse
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import audit
    from streams.store.db import sessions

    settings = load_settings()
    engine, wh = _engine(settings), Warehouse(settings)
    try:
        row, created = reissue_invoice(
            sessions(engine),
            wh,
            load_catalog(settings.catalog_path),
            args.invoice,
            datetime.now(UTC),
            audit.Origin(f"operator:{args.by}"),
        )
    except LookupError as exc:
        raise MeterlineError(f"no finalized invoice {args.invoice}") from exc
    except TransitionError as exc:
        raise MeterlineError(f"cannot reissue {args.invoice}: {exc}") from exc
    finally:
        wh.close()
        engine.dispose()
    out = {
        "invoice_id": row.invoice_id,
        "reissue_of": row.reissue_of,
        "number": row.number,
        "status": row.status,
        "amount_due": row.amount_due,
        "due_date": row.due_date.isoformat(),
        "created": created,
    }
    if args.json:
        emit_json(out)
    else:
        verb = "reissued as" if created else "was reissued as"
        print(f"{args.invoice} {verb} {out['invoice_id']} ({out['number']}), due {out['due_date']}")
    return 0
