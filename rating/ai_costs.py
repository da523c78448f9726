"""The platform's cost of an AI request, from the catalog's provider table (margin per customer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rating.catalog.model import AiCost
from rating.money import ZERO

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class AiRequestCost:
    cost: Decimal  # full precision, USD
    priced_as: str  # "provider/model", "provider/*" or "unknown"
    known: bool


def ai_request_cost(
    table: Mapping[str, Mapping[str, AiCost]], provider: str, model: str, input_tokens: int, output_tokens: int
) -> AiRequestCost:
    """Input and output tokens at the provider/model's price per million; an unknown model takes the
    provider's default row ("*"); an unknown provider costs zero and is reported as unknown."""
    rows = table.get(provider)
    if rows is None:
        return AiRequestCost(ZERO, "unknown", False)
    row, name = (rows[model], f"{provider}/{model}") if model in rows else (rows.get("*"), f"{provider}/*")
    if row is None:
        return AiRequestCost(ZERO, "unknown", False)
    cost = (
        Decimal(max(0, input_tokens)) * row.input_per_million + Decimal(max(0, output_tokens)) * row.output_per_million
    ) / MILLION
    return AiRequestCost(cost, name, True)
