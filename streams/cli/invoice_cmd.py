"""``meterline invoice preview``: an account's invoice document for a period, on demand.

Like ``meterline settle`` (``settle_cmd``), it reads the subscription histories from
``billing.subscriptions`` and settled data from ClickHouse: with embedded chDB, run it while no worker
holds the data directory, or through the local warehouse bridge (``meterline stack up``).
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.cli.settle_cmd import open_settler, period_key
from streams.errors import MeterlineError


def register(sub: Any) -> None:
    inv: argparse.ArgumentParser = sub.add_parser("invoice", help="invoices", description="Invoices.")
    isub = inv.add_subparsers(dest="invoice_command", metavar="ACTION", required=True)
    prev = isub.add_parser(
        "preview",
        help="print an account's invoice document for a period",
        description="The invoice document of one account and usage period (docs/architecture.md §10): the finalized "
        "invoice if the period was closed, else a draft computed now from settled usage only (hours not "
        "settled yet are not on it).",
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
    rec.add_argument("--invoice", required=True, help="the invoice id (in_<account>_<period>)")
    rec.add_argument("--amount", required=True, type=Decimal, help="in the invoice's currency, e.g. 1250.00")
    rec.add_argument("--method", default="wire", choices=("wire", "ach", "check", "other"))
    rec.add_argument("--reference", help="the bank's reference of the transfer")
    rec.add_argument("--by", default="operator", help="who records it (kept with the payment)")
    rec.add_argument("--json", action="store_true", help="print the payment and the invoice's state")
    rec.set_defaults(func=_record_payment)
    for name, what in (
        ("void", "void a finalized invoice with nothing paid (kept, with its number)"),
        ("mark-uncollectible", "write a finalized invoice off as uncollectible (it can still be paid)"),
    ):
        act = isub.add_parser(name, help=what, description=f"As the platform operator: {what}.")
        act.add_argument("--invoice", required=True, help="the invoice id (in_<account>_<period>)")
        act.add_argument("--json", action="store_true", help="print the invoice's state")
        act.set_defaults(func=_change_status, action=name)
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


def _mirror(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

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


def _record_payment(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from rating.catalog.loader import load_catalog
    from rating.money import minor_units
    from rating.receivables import TransitionError
    from streams.api.warehouse import Warehouse
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import receivables
    from streams.store.db import sessions
    from streams.store.models import InvoiceReceivableRow

    settings = load_settings()
    engine = _engine(settings)
    try:
        with sessions(engine).begin() as s:
            if s.get(InvoiceReceivableRow, args.invoice) is None:  # not read through the API yet: open it
                wh = Warehouse(settings)
                try:
                    found = wh.invoice(args.invoice)
                finally:
                    wh.close()
                if found is not None:
                    receivables.open_document(s, load_catalog(settings.catalog_path), found[1])
            pay = receivables.record_payment(
                s,
                args.invoice,
                minor_units(args.amount),
                args.method,
                datetime.now(UTC),
                source="operator",
                recorded_by=f"operator:{args.by}",
                reference=args.reference,
            )
            inv = receivables.get(s, args.invoice)
            out = {
                "payment_id": pay.id,
                "invoice_id": inv.invoice_id,
                "number": inv.number,
                "amount": pay.amount,
                "method": pay.method,
                "reference": pay.reference,
                "status": inv.status,
                "amount_due": inv.amount_due,
                "amount_paid": inv.amount_paid,
                "amount_remaining": receivables.state(inv).amount_remaining,
            }
    except receivables.NotFinalized as exc:
        raise MeterlineError(f"no finalized invoice {args.invoice}") from exc
    except TransitionError as exc:
        raise MeterlineError(f"cannot record the payment: {exc}") from exc
    finally:
        engine.dispose()
    if args.json:
        emit_json(out)
    else:
        print(f"{out['number']}: {out['status']}, {out['amount_remaining']} (minor units) remaining")
    return 0


def _change_status(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from rating.receivables import TransitionError
    from streams.cli.api_cmd import _engine
    from streams.settings import load_settings
    from streams.store import receivables
    from streams.store.db import sessions

    engine = _engine(load_settings())
    now = datetime.now(UTC)
    try:
        with sessions(engine).begin() as s:
            if args.action == "void":
                row = receivables.void(s, args.invoice, now)
            else:
                row = receivables.mark_uncollectible(s, args.invoice, now)
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
