"""An invoice document as a one-page PDF 1.4 (Helvetica, WinAnsi text, uncompressed content stream).

Written by hand, no dependency: a catalog, one page, two standard fonts (no embedding), one content
stream and an info dictionary, with an exact cross-reference table. Lines that do not fit on the page
are summed up in one closing row (the JSON document holds them all).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from streams.api.models import InvoiceDocument

PAGE_W, PAGE_H = 595, 842  # A4 in points
LEFT, RIGHT = 50, 545
MAX_LINE_ROWS = 30
ROW = 15

# Advance widths (1/1000 em) of Helvetica for the characters of amounts; others count as 556.
_WIDTHS = {" ": 278, ".": 278, ",": 278, "-": 333, "$": 556, "(": 333, ")": 333, "/": 278, ":": 278}
_BOLD_WIDTHS = {**_WIDTHS, "(": 333, ")": 333, ":": 333}


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return (
        raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"").replace(b"\n", b" ")
    )


def _width(text: str, size: float, bold: bool = False) -> float:
    table = _BOLD_WIDTHS if bold else _WIDTHS
    return sum(table.get(c, 556) for c in text) * size / 1000


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 3] + "..."


def _money(amount: str, currency: str) -> str:
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return amount
    symbol = "$" if currency.lower() == "usd" else ""
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


class _Canvas:
    def __init__(self) -> None:
        self.ops: list[bytes] = []

    def text(self, x: float, y: float, text: str, size: float = 10, bold: bool = False) -> None:
        font = b"/F2" if bold else b"/F1"
        self.ops.append(b"BT %s %g Tf %.2f %.2f Td (%s) Tj ET" % (font, size, x, y, _escape(text)))

    def right(self, x: float, y: float, text: str, size: float = 10, bold: bool = False) -> None:
        self.text(x - _width(text, size, bold), y, text, size, bold)

    def rule(self, y: float, width: float = 0.5) -> None:
        self.ops.append(b"%g w %d %.2f m %d %.2f l S" % (width, LEFT, y, RIGHT, y))


def render_invoice(doc: InvoiceDocument, *, account_name: str | None = None) -> bytes:
    """The invoice as PDF bytes (``%PDF-1.4`` ... ``%%EOF``)."""
    c = _Canvas()
    cur = doc.currency
    title = "Draft invoice" if doc.status == "draft" else "Invoice"
    c.text(LEFT, 780, title, 22, bold=True)
    c.right(RIGHT, 784, "Meterline", 12, bold=True)
    c.right(RIGHT, 770, "usage metering and billing", 8)
    y = 740.0
    facts = [
        ("Invoice", doc.invoice_id or "(upcoming)"),
        ("Account", doc.account_id + (f" - {account_name}" if account_name else "")),
        ("Period", f"{_day(doc.period_start)} to {_day(doc.period_end)} (end exclusive)"),
        ("Status", doc.status),
        ("Currency", cur.upper()),
    ]
    for label, value in facts:
        c.text(LEFT, y, label, 10, bold=True)
        c.text(LEFT + 70, y, _clip(value, 80), 10)
        y -= ROW
    y -= 15
    cols = (LEFT, LEFT + 120, 390, 465, RIGHT)  # code, description, quantity (right), unit price (right), amount
    c.text(cols[0], y, "Code", 9, bold=True)
    c.text(cols[1], y, "Description", 9, bold=True)
    c.right(cols[2], y, "Quantity", 9, bold=True)
    c.right(cols[3], y, "Unit price", 9, bold=True)
    c.right(cols[4], y, "Amount", 9, bold=True)
    c.rule(y - 5)
    y -= ROW + 5
    shown = doc.lines if len(doc.lines) <= MAX_LINE_ROWS else doc.lines[: MAX_LINE_ROWS - 1]
    for line in shown:
        c.text(cols[0], y, _clip(line.code, 22), 9)
        c.text(cols[1], y, _clip(line.description, 38), 9)
        c.right(cols[2], y, _clip(line.quantity, 14), 9)
        c.right(cols[3], y, _clip(line.unit_price, 12), 9)
        c.right(cols[4], y, _money(line.amount, cur), 9)
        y -= ROW
    rest = doc.lines[len(shown) :]
    if rest:
        amount = sum((Decimal(ln.amount) for ln in rest), Decimal(0))
        c.text(cols[1], y, f"... {len(rest)} more lines (see the JSON document)", 9)
        c.right(cols[4], y, _money(str(amount), cur), 9)
        y -= ROW
    if not doc.lines:
        c.text(cols[1], y, "no charges in this period", 9)
        y -= ROW
    c.rule(y + 8)
    y -= 8
    c.text(cols[3] - 80, y, "Subtotal", 10)
    c.right(cols[4], y, _money(doc.subtotal, cur), 10)
    y -= ROW + 2
    c.text(cols[3] - 80, y, "Total", 12, bold=True)
    c.right(cols[4], y, _money(doc.total, cur), 12, bold=True)
    c.text(LEFT, 50, f"Total due: {doc.total} {cur.upper()}. Amounts computed from settled usage.", 8)
    return _assemble(b"\n".join(c.ops), title=f"{title} {doc.invoice_id or doc.account_id}")


def _assemble(content: bytes, *, title: str) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>" % (PAGE_W, PAGE_H),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Title (%s) /Producer (Meterline) >>" % _escape(title),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF" % (len(objects) + 1, xref)
    return bytes(out)
