"""An invoice document (docs/architecture.md §10) as a multi-page A4 PDF, laid out with reportlab.

The line table splits across pages and repeats its header on each; every line is printed (none summed up).
Fields the document may not carry yet (``number``, ``due_date``, ``amount_paid``, ``amount_due``, ``terms``)
are read when present and shown as "—" when absent. A ``paid`` or ``void`` invoice gets a large mark on
every page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from rating.money import money_display, shown_quantity
from streams.api.models import InvoiceDocument
from streams.settings import Settings
from streams.store.branding import Brand
from streams.store.models import Organization

DASH = "—"
_MARKS = {
    "paid": ("PAID", colors.Color(0.1, 0.55, 0.2, alpha=0.25)),
    "void": ("VOID", colors.Color(0.7, 0.1, 0.1, alpha=0.25)),
}


@dataclass(frozen=True)
class Party:
    """A seller or buyer as printed: name, address lines, tax id and email (all but the name optional)."""

    name: str
    address: Sequence[str] = field(default_factory=tuple)
    tax_id: str | None = None
    email: str | None = None


def _extra(doc: InvoiceDocument, name: str) -> Any:
    """A field of the document that older documents do not carry (``None`` when absent)."""
    value = getattr(doc, name, None)
    if value is None and doc.model_extra:
        value = doc.model_extra.get(name)
    return value


def _minor(value: object) -> Decimal | None:
    """An amount of the receivable state, which counts integer minor units (cents), as money."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).scaleb(-2)
    return Decimal(str(value))


def _money(amount: object, currency: str) -> str:
    if amount is None or amount == "":
        return DASH
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return money_display(value, currency)


def _quantity(value: str) -> str:
    """As the line's description words a fraction of a term (rating.money.shown_quantity); text that is no number
    as it is."""
    try:
        return shown_quantity(Decimal(value))
    except InvalidOperation:
        return value


def _day(value: object) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def _esc(text: str) -> str:
    """Text for a reportlab Paragraph (a small XML markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _party_block(title: str, party: Party | None, style: ParagraphStyle) -> Paragraph:
    if party is None:
        return Paragraph(f"<b>{title}</b><br/>{DASH}", style)
    rows = [f"<b>{title}</b>", f"<b>{_esc(party.name)}</b>", *(_esc(a) for a in party.address if a)]
    rows.append(f"Tax ID: {_esc(party.tax_id) if party.tax_id else DASH}")
    if party.email:
        rows.append(_esc(party.email))
    return Paragraph("<br/>".join(rows), style)


def _status_text(status: str) -> str:
    return {"final": "open", "draft": "draft"}.get(status, status)


@dataclass(frozen=True)
class PdfBrand:
    """A white-label organization's look on its invoices (streams/store/branding.py): name, colour, logo."""

    name: str | None = None
    colour: str | None = None  # #rrggbb: the title and the brand's name
    logo: bytes | None = None  # PNG or JPEG


def pdf_brand(brand: Brand) -> PdfBrand | None:
    """The invoice look of the branding in effect (None: the defaults)."""
    return PdfBrand(brand.name, brand.primary_colour, brand.logo) if brand.custom else None


def brand_header(brand: PdfBrand | None, st: Styles) -> list[Flowable]:
    """The organization's logo (at most 14 mm high) and name above the title; nothing without a brand."""
    if brand is None:
        return []
    out: list[Flowable] = []
    if brand.logo:
        width, height = ImageReader(io.BytesIO(brand.logo)).getSize()
        h = 14 * mm
        out.append(Image(io.BytesIO(brand.logo), width=h * width / max(height, 1), height=h, hAlign="LEFT"))
    if brand.name:
        colour = colors.HexColor(brand.colour) if brand.colour else colors.black
        out.append(Paragraph(_esc(brand.name), ParagraphStyle("brand", parent=st.body, fontSize=12, textColor=colour)))
    return [*out, Spacer(1, 3 * mm)] if out else []


def seller_of(settings: Settings) -> Party:
    """The seller printed on every invoice, from the ``METERLINE_SELLER_*`` settings (README, configuration)."""
    lines = [ln.strip() for ln in settings.seller_address.replace("|", "\n").splitlines()]
    return Party(settings.seller_name, tuple(ln for ln in lines if ln), settings.seller_tax_id, settings.seller_email)


def buyer_of(org: Organization) -> Party:
    """An organization as billed: its name, billing address, tax id and billing email."""
    a = org.billing_address or {}
    city = " ".join(str(a[k]) for k in ("postal_code", "city") if a.get(k))
    lines = (a.get("line1"), a.get("line2"), city, a.get("region"), a.get("country"))
    return Party(org.name, tuple(str(x) for x in lines if x), org.tax_id, org.billing_email)


def render_invoice(
    doc: InvoiceDocument,
    *,
    account_name: str | None = None,
    buyer: Party | None = None,
    seller: Party | None = None,
    payment_instructions: str | None = None,
    brand: PdfBrand | None = None,
) -> bytes:
    """The invoice as PDF bytes; ``buyer`` defaults to the account (its ``account_name`` when given); ``brand``: a
    white-label organization's name, logo and colour above the title."""
    cur = doc.currency
    status = str(doc.status)
    number = _extra(doc, "number")
    due_date = _extra(doc, "due_date")
    amount_paid = _minor(_extra(doc, "amount_paid"))
    # "Amount due" on paper is what is still owed: the receivable's remainder when the store knows it.
    amount_due = _minor(_extra(doc, "amount_remaining"))
    if status == "void":
        amount_due = Decimal(0)  # a void invoice is owed by nobody
    elif amount_due is None and amount_paid is not None:
        amount_due = Decimal(doc.total) - amount_paid
    terms = _extra(doc, "terms") or _extra(doc, "payment_terms")
    issued = _extra(doc, "issued_at") or _extra(doc, "finalized_at")
    buyer = buyer or Party(name=account_name or doc.account_id)

    st = Styles.make(brand.colour if brand else None)
    body, small, cell = st.body, st.small, st.cell
    title = "Draft invoice" if status == "draft" else "Invoice"

    story = brand_header(brand, st) + heading(title, seller, buyer, st)
    facts = [
        ("Invoice number", str(number) if number else DASH),
        ("Invoice id", doc.invoice_id or "(upcoming)"),
        ("Account", doc.account_id),
        ("Issue date", _day(issued)),
        ("Due date", _day(due_date)),
        ("Terms", str(terms) if terms else DASH),
        ("Period", f"{_day(doc.period_start)} to {_day(doc.period_end)} (end exclusive)"),
        ("Status", _status_text(status)),
        ("Currency", cur.upper()),
    ]
    # A reissue and the void invoice it replaces name each other (docs/invoices.md, "Reissuing").
    facts += [(k, str(v)) for k, v in (("Replaces", doc.reissue_of), ("Reissued as", doc.reissued_as)) if v]
    story += [facts_table(facts, st), Spacer(1, 5 * mm)]

    header = ["Code", "Description", "Quantity", "Unit price", "Amount"]
    rows: list[list[Any]] = [header]
    for line in doc.lines:
        rows.append(
            [
                Paragraph(_esc(line.code), cell),
                Paragraph(_esc(line.description), cell),
                _quantity(line.quantity),
                line.unit_price,
                _money(line.amount, cur),
            ]
        )
    if not doc.lines:
        rows.append(["", "no charges in this period", "", "", ""])
    story += [lines_table(rows, [38 * mm, 66 * mm, 22 * mm, 22 * mm, 28 * mm]), Spacer(1, 4 * mm)]

    taxes = [ln for ln in doc.lines if ln.code.startswith("tax:")]
    totals: list[tuple[str, str]] = [("Subtotal", _money(doc.subtotal, cur))]
    if taxes:
        totals += [(f"Tax ({ln.code.removeprefix('tax:')})", _money(ln.amount, cur)) for ln in taxes]
    totals += [
        ("Total", _money(doc.total, cur)),
        ("Amount paid", _money(amount_paid, cur)),
        ("Amount due", _money(amount_due, cur)),
    ]
    story += [totals_table(totals, ("Total", "Amount due")), Spacer(1, 6 * mm)]

    how = payment_instructions or (
        "Charged automatically to the payment method on file." if status != "draft" else "Not payable yet (draft)."
    )
    story += [
        Paragraph("<b>How to pay</b>", body),
        Paragraph(_esc(how).replace("\n", "<br/>"), body),
        Paragraph(f"Reference: {_esc(str(number or doc.invoice_id or doc.account_id))}", body),
        Spacer(1, 3 * mm),
        Paragraph("Amounts are computed from settled usage.", small),
    ]

    label = f"{title} {number or doc.invoice_id or doc.account_id}"
    return build_pdf(story, label, seller, _MARKS.get(status))


@dataclass(frozen=True)
class Styles:
    """The paragraph styles every Meterline document shares (invoices, credit notes)."""

    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    title: ParagraphStyle

    @classmethod
    def make(cls, title_colour: str | None = None) -> Styles:
        sheet = getSampleStyleSheet()
        body = ParagraphStyle("body", parent=sheet["Normal"], fontName="Helvetica", fontSize=9, leading=11.5)
        return cls(
            body=body,
            small=ParagraphStyle("small", parent=body, fontSize=8, leading=10),
            cell=ParagraphStyle("cell", parent=body, fontSize=8, leading=9.5),
            title=ParagraphStyle(
                "title",
                parent=sheet["Title"],
                fontName="Helvetica-Bold",
                fontSize=20,
                alignment=0,
                textColor=colors.HexColor(title_colour) if title_colour else colors.black,
            ),
        )


def heading(title: str, seller: Party | None, buyer: Party | None, st: Styles) -> list[Flowable]:
    """The title, then the seller ("From") and the buyer ("Bill to") side by side."""
    parties = Table(
        [[_party_block("From", seller, st.body), _party_block("Bill to", buyer, st.body)]],
        colWidths=[88 * mm, 88 * mm],
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]),
    )
    return [Paragraph(title, st.title), Spacer(1, 2 * mm), parties, Spacer(1, 5 * mm)]


def facts_table(facts: Sequence[tuple[str, str]], st: Styles) -> Table:
    """Labelled facts (number, dates, status...), one per row."""
    return Table(
        [[Paragraph(f"<b>{k}</b>", st.body), Paragraph(_esc(v), st.body)] for k, v in facts],
        colWidths=[35 * mm, 141 * mm],
        style=TableStyle([("TOPPADDING", (0, 0), (-1, -1), 0.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5)]),
        hAlign="LEFT",
    )


def lines_table(rows: list[list[Any]], widths: Sequence[float]) -> Table:
    """A table of lines under a grey header repeated on every page; the third column on right-aligned."""
    table = Table(rows, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (-1, -1), "Helvetica"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
            ]
        )
    )
    return table


def totals_table(totals: Sequence[tuple[str, str]], bold: Sequence[str]) -> Table:
    """Label and amount rows, right-aligned; the ``bold`` labels in bold, a rule above the first of them."""
    bold_rows = [i for i, (k, _) in enumerate(totals) if k in bold]
    style: list[tuple[Any, ...]] = [
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("FONTNAME", (0, 0), (-1, -1), "Helvetica"),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        *[("FONTNAME", (0, i), (-1, i), "Helvetica-Bold") for i in bold_rows],
    ]
    if bold_rows:
        style.append(("LINEABOVE", (0, bold_rows[0]), (-1, bold_rows[0]), 0.8, colors.black))
    return Table(list(totals), colWidths=[40 * mm, 30 * mm], hAlign="RIGHT", style=TableStyle(style))


def build_pdf(
    story: list[Flowable], label: str, seller: Party | None, mark: tuple[str, colors.Color] | None = None
) -> bytes:
    """``story`` as A4 PDF bytes, ``label`` and the page number in every footer, ``mark`` (a large diagonal word)
    on every page."""

    def on_page(canvas: Canvas, template: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(15 * mm, 10 * mm, label)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"Page {canvas.getPageNumber()}")
        if mark is not None:
            canvas.setFont("Helvetica-Bold", 110)
            canvas.setFillColor(mark[1])
            canvas.translate(A4[0] / 2, A4[1] / 2)
            canvas.rotate(35)
            canvas.drawCentredString(0, -40, mark[0])
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=label,
        author=seller.name if seller else "Meterline",
        creator="Meterline",
        invariant=True,  # the same document gives the same bytes (no creation time or random file id)
    )
    template.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
