"""The invoice PDF (streams/api/invoice_pdf.py): every line on as many pages as it takes, the totals, the
parties, and the receivables fields when the document has them ("—" when it does not)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from streams.api.invoice_pdf import Party, render_invoice
from streams.api.models import InvoiceDocument, InvoiceLine
from tests.support.pdf import first_page_png, pdf_pages, pdf_text

MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)
ARTIFACTS = Path(__file__).resolve().parents[4] / "var" / "test-artifacts"


def _doc(n: int, status: str = "open", **extra: object) -> InvoiceDocument:
    # line i costs i dollars: 1 + 2 + ... + 120 = 7,260.00
    lines = [
        InvoiceLine(
            code=f"addon:feature_{i:03d}",
            description=f"Add-on number {i} (monthly)",
            quantity="2",
            unit_price=f"{i / 2:.2f}",
            amount=f"{i}.00",
        )
        for i in range(1, n + 1)
    ]
    total = sum(range(1, n + 1))
    doc = InvoiceDocument.model_validate(
        {
            "invoice_id": "in_acme_2026-05",
            "account_id": "acme",
            "period_start": MAY,
            "period_end": JUNE,
            "currency": "usd",
            "status": "open",
            "lines": [ln.model_dump() for ln in lines],
            "subtotal": f"{total}.00",
            "total": f"{total}.00",
            **extra,
        }
    )
    # the lifecycle's statuses (open, paid, void, ...) may be wider than this branch's model allows
    return doc.model_copy(update={"status": status})


def test_a_120_line_invoice_prints_every_line_on_several_pages() -> None:
    seller = Party("Meterline Inc.", ("1 Market St", "San Francisco, CA 94105", "US"), tax_id="US-12-3456789")
    buyer = Party("Acme (EU) GmbH", ("Hauptstraße 5", "10115 Berlin", "DE"), tax_id="DE123456789", email="ap@acme.test")
    pdf = render_invoice(
        _doc(120), buyer=buyer, seller=seller, payment_instructions="Wire to IBAN DE00 1234 5678 9012 3456 78"
    )
    pages = pdf_pages(pdf)
    assert len(pages) >= 3, len(pages)
    # the table's header is repeated on every page it runs over
    assert all("Unit price" in page for page in pages[:-1])
    text = "\n".join(pages)
    for i in range(1, 121):
        assert f"addon:feature_{i:03d}" in text, i
        assert re.search(rf"Add-on number {i} \(monthly\)\s+2\s+{i / 2:.2f}\s+\${i:,}\.00", text), i
    assert re.search(r"Subtotal\s+\$7,260\.00\s+Total\s+\$7,260\.00", text)
    for needle in ("Meterline Inc.", "US-12-3456789", "Acme (EU) GmbH", "Hauptstraße 5", "DE123456789", "IBAN DE00"):
        assert needle in text, needle
    assert "2026-05-01 to 2026-06-01" in text
    # the receivables fields this document does not carry yet print as a dash
    assert re.search(r"Invoice number\s+—", text) and re.search(r"Due date\s+—", text)
    assert re.search(r"Amount due\s+\$7,260\.00", text)  # nothing paid yet
    png = first_page_png(pdf, ARTIFACTS / "invoice-120-lines-page1.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


def test_receivables_fields_tax_lines_and_the_paid_mark() -> None:
    doc = _doc(
        2,
        status="paid",
        number="ML-2026-000042",
        due_date="2026-07-01",
        finalized_at="2026-06-01T00:00:00Z",
        amount_paid=357,
        amount_due=357,
        amount_remaining=0,
    )
    doc = doc.model_copy(update={"total": "3.57"})
    doc.lines.append(
        InvoiceLine(code="tax:0.19", description="VAT 19%", quantity="3.00", unit_price="0.19", amount="0.57")
    )
    pdf = render_invoice(doc, account_name="Acme")
    text = pdf_text(pdf)
    assert "ML-2026-000042" in text and re.search(r"Due date\s+2026-07-01", text)
    assert re.search(r"Issue date\s+2026-06-01", text)
    assert re.search(r"Tax \(0\.19\)\s+\$0\.57", text)
    assert re.search(r"Total\s+\$3\.57\s+Amount paid\s+\$3\.57\s+Amount due\s+\$0\.00", text)
    assert "PAID" in text and re.search(r"Status\s+paid", text)
    first_page_png(pdf, ARTIFACTS / "invoice-paid-page1.png")


def test_amount_due_is_derived_from_amount_paid_and_void_is_marked() -> None:
    text = pdf_text(render_invoice(_doc(3, status="open", amount_paid=150)))
    assert re.search(r"Amount paid\s+\$1\.50\s+Amount due\s+\$4\.50", text)  # 1 + 2 + 3 - 1.50
    assert "VOID" not in text and "PAID" not in text
    text = pdf_text(render_invoice(_doc(3, status="void", amount_paid=150)))
    assert re.search(r"Amount paid\s+\$1\.50\s+Amount due\s+\$0\.00", text)
    assert "VOID" in text


def test_a_proration_lines_quantity_reads_as_its_description_says() -> None:
    # The document keeps the exact fraction of the term left; its description words it with four decimals.
    line = InvoiceLine(
        code="base_fee_proration",
        description="Change to Standard on 2026-05-02: base fee, 0.9731 of its term left",
        quantity="0.97311827956989247311827957",
        unit_price="49.99",
        amount="48.65",
    )
    doc = InvoiceDocument.model_validate(
        {
            "invoice_id": "in_pia_2026-05",
            "account_id": "pia",
            "period_start": MAY,
            "period_end": JUNE,
            "currency": "usd",
            "status": "open",
            "lines": [line.model_dump()],
            "subtotal": "48.65",
            "total": "48.65",
        }
    )
    text = pdf_text(render_invoice(doc, buyer=None, seller=Party("Meterline Inc.", ())))
    assert "0.9731 of its term left" in text
    assert re.search(r"\b0\.9731\b(?! of)", text), text  # the Quantity column: the same figure
    assert "0.973118" not in text
