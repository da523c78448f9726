"""The credit note PDF (streams/api/credit_note_pdf.py): the invoice's look, what is credited and refunded on which
invoice, the refund's state; page 1 kept as a PNG artifact to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from streams.api.credit_note_pdf import render_credit_note
from streams.api.invoice_pdf import Party
from streams.api.models import CreditNoteOut, InvoiceDocument, InvoiceLine
from tests.support.pdf import first_page_png, pdf_pages

ARTIFACTS = Path(__file__).resolve().parents[4] / "var" / "test-artifacts"
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def _invoice() -> InvoiceDocument:
    return InvoiceDocument(
        invoice_id="in_acme_2026-05",
        account_id="acme",
        period_start=MAY,
        period_end=datetime(2026, 6, 1, tzinfo=UTC),
        currency="usd",
        status="paid",
        lines=[
            InvoiceLine(code="base_fee", description="Standard", quantity="1", unit_price="549.99", amount="549.99")
        ],
        subtotal="549.99",
        total="549.99",
        number="ML-000042",
        issued_at=datetime(2026, 6, 3, tzinfo=UTC),
        amount_due=44_000,
        amount_paid=44_000,
        amount_remaining=0,
    )


def _note(**extra: object) -> CreditNoteOut:
    fields: dict[str, object] = {
        "id": "cn_0123456789abcdef01234567",
        "number": "ML-CN-000007",
        "invoice_id": "in_acme_2026-05",
        "account_id": "acme",
        "amount": 10_999,
        "credited": 0,
        "refunded": 10_999,
        "currency": "usd",
        "reason": "order_change",
        "memo": "overage billed twice <b> & co",
        "created_by": "ops",
        "created_at": datetime(2026, 6, 12, 9, tzinfo=UTC),
        "refund_via": "stripe",
        "refund_status": "succeeded",
        "refund_reference": "re_123",
    }
    return CreditNoteOut.model_validate(fields | extra)


def test_a_credit_note_reads_like_the_invoice_it_corrects() -> None:
    seller = Party("Meterline Test Ltd", ("1 Main St", "Dublin"), "IE9S", "billing@meterline.example")
    buyer = Party("Acme GmbH", ("Hauptstraße 5", "10115 Berlin", "DE"), "DE123456789", "ap@acme.example")
    pdf = render_credit_note(_note(), _invoice(), buyer=buyer, seller=seller)
    [text] = pdf_pages(pdf)  # one page
    for needle in (
        "Credit note",
        "ML-CN-000007",
        "cn_0123456789abcdef01234567",
        "ML-000042 (in_acme_2026-05)",
        "2026-06-12",
        "2026-06-03",
        "order change",
        "twice <b> & co",  # the memo, wrapped in its cell
        "refunded to the card that paid the invoice (reference re_123)",
        "$549.99",
        "$109.99",
        "Meterline Test Ltd",
        "IE9S",
        "Acme GmbH",
        "DE123456789",
    ):
        assert needle in text, needle
    assert render_credit_note(_note(), _invoice(), buyer=buyer, seller=seller) == pdf  # same bytes each time
    png = first_page_png(pdf, ARTIFACTS / "credit-note-page1.png")
    assert png.stat().st_size > 10_000


def test_a_refund_owed_by_hand_and_a_credit_only_note_say_so() -> None:
    owed = pdf_pages(render_credit_note(_note(refund_via="manual", refund_status="owed"), _invoice()))[0]
    assert "owed to you: paid back by bank transfer" in owed and "acme" in owed
    credit_only = _note(credited=10_999, refunded=0, refund_via=None, refund_status=None, refund_reference=None)
    text = pdf_pages(render_credit_note(credit_only, _invoice()))[0]
    assert "nothing refunded" in text and "$0.00" in text
