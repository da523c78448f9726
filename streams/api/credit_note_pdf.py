"""A credit note (docs/invoices.md, "Credit notes") as an A4 PDF in the invoice's look (``invoice_pdf``: the same
library, styles, parties and footer): what it credits and refunds on which invoice, and why."""

from __future__ import annotations

from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from streams.api.invoice_pdf import (
    DASH,
    Party,
    Styles,
    _day,
    _esc,
    _extra,
    _minor,
    _money,
    build_pdf,
    facts_table,
    heading,
    lines_table,
    totals_table,
)
from streams.api.models import CreditNoteOut, InvoiceDocument

#: What each refund state says on paper (``streams.store.refunds``).
REFUND_TEXT = {
    "pending": "to be refunded to the card that paid the invoice",
    "failed": "refund through Stripe failed; it is retried",
    "succeeded": "refunded to the card that paid the invoice",
    "owed": "owed to you: paid back by bank transfer",
    "recorded": "paid back by bank transfer",
}


def render_credit_note(
    note: CreditNoteOut, invoice: InvoiceDocument, *, buyer: Party | None = None, seller: Party | None = None
) -> bytes:
    """The credit note as PDF bytes; ``invoice`` is the document it corrects (never edited by it)."""
    cur = note.currency
    st = Styles.make()
    buyer = buyer or Party(name=note.account_id)
    number = _extra(invoice, "number")
    story = heading("Credit note", seller, buyer, st)
    refund = REFUND_TEXT.get(note.refund_status or "", DASH) if note.refunded else "nothing refunded"
    if note.refund_reference and note.refunded:
        refund += f" (reference {note.refund_reference})"
    facts = [
        ("Credit note", note.number),
        ("Credit note id", note.id),
        ("Invoice", f"{number or DASH} ({note.invoice_id})"),
        ("Invoice date", _day(_extra(invoice, "issued_at") or _extra(invoice, "finalized_at"))),
        ("Issue date", _day(note.created_at)),
        ("Account", note.account_id),
        ("Reason", note.reason.replace("_", " ")),
        ("Refund", refund),
        ("Currency", cur.upper()),
    ]
    story += [facts_table(facts, st), Spacer(1, 5 * mm)]
    what = f"Credit on invoice {number or note.invoice_id}"
    if note.memo:
        what += f": {note.memo}"
    amount = _minor(note.amount) or Decimal(0)
    rows = [
        ["Code", "Description", "Quantity", "Unit price", "Amount"],
        ["credit", Paragraph(_esc(what), st.cell), "1", f"{amount:.2f}", _money(amount, cur)],
    ]
    story += [lines_table(rows, [38 * mm, 66 * mm, 22 * mm, 22 * mm, 28 * mm]), Spacer(1, 4 * mm)]
    totals = [
        ("Invoice total", _money(invoice.total, cur)),
        ("Credited", _money(_minor(note.credited), cur)),
        ("Refunded", _money(_minor(note.refunded), cur)),
        ("Total credit", _money(amount, cur)),
        ("Invoice now due", _money(_minor(_extra(invoice, "amount_remaining")), cur)),
    ]
    story += [
        totals_table(totals, ("Total credit",)),
        Spacer(1, 6 * mm),
        Paragraph(
            "Credited lowers what the invoice still owes; refunded is paid back of what was paid. The invoice "
            "itself is not changed.",
            st.small,
        ),
    ]
    return build_pdf(story, f"Credit note {note.number}", seller)
