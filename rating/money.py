"""Money rules: full precision inside, cents half-even once at the invoice line (docs/architecture.md §5)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

CENT = Decimal("0.01")
ZERO = Decimal(0)


def fixed_text(d: Decimal) -> str:
    """``f"{d:f}"`` — fixed point, every digit the value carries — at a third of its cost: ``str`` gives the
    same text unless it picks exponent notation (a positive exponent, or more than six zeros after the
    point). The live stage formats several of these per group of every step (docs/performance.md)."""
    s = str(d)
    return f"{d:f}" if "E" in s else s


def quantity_text(d: Decimal) -> str:
    """A quantity as people read it: no trailing zeros nor exponent ("12", "0.5", "1500"); any zero is "0"."""
    return f"{d.normalize():f}" if d else "0"


#: The places a line's quantity is shown with: its description words a fraction of a term so ("0.9731 of its term
#: left", rating/fees.py), and the PDF's quantity column (and the web app's, web/src/ui/format.ts) round to the same.
SHOWN_PLACES = Decimal("0.0001")


def fraction_text(d: Decimal) -> str:
    """A fraction as a line's description words it: four decimals, half-even ("0.9731", "0.5000")."""
    return f"{d.quantize(SHOWN_PLACES, rounding=ROUND_HALF_EVEN):f}"


def shown_quantity(d: Decimal) -> str:
    """A line's quantity as a document shows it: at most four decimals, half-even, no trailing zeros ("0.9731",
    "0.5", "120000"); the document itself keeps the exact quantity."""
    return quantity_text(d.quantize(SHOWN_PLACES, rounding=ROUND_HALF_EVEN))


def line_amount(amount: Decimal) -> Decimal:
    """Round an invoice line to cents, half-even — once, at the line."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money_text(amount: Decimal) -> str:
    """Two decimals as text, for documents (the value must already be a rounded line or total)."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN):f}"


def money_display(amount: Decimal, currency: str = "usd") -> str:
    """An amount as people read it on documents and reports: "$1,234.50", "-$1.43" (the sign before the
    symbol), "12.00 EUR" for currencies other than the dollar."""
    cents = line_amount(amount)
    sign = "-" if cents < 0 else ""  # of the cents shown: -0.004 is "$0.00", not "-$0.00"
    text = f"{abs(cents):,.2f}"
    return f"{sign}${text}" if currency.lower() == "usd" else f"{sign}{text} {currency.upper()}"


def minor_units(amount: Decimal) -> int:
    """An amount as whole cents, rounded half-even like a line (docs/rating.md): what Stripe's integer
    ``amount`` fields take. Lines and totals are already whole cents, so this only converts them."""
    return int(line_amount(amount) * 100)


def cents_exact(amount: Decimal, per: int = 1) -> Decimal:
    """A unit price as cents per ``1/per`` of the unit, exact and unrounded: unit prices keep full
    precision (docs/rating.md), so nothing is rounded here."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (amount * 100 / per).normalize()
