"""Money rules: full precision inside, cents half-even once at the invoice line (DESIGN §5)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)


def line_amount(amount: Decimal) -> Decimal:
    """Round an invoice line to cents, half-even — once, at the line."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money_text(amount: Decimal) -> str:
    """Two decimals as text, for documents (the value must already be a rounded line or total)."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN):f}"
