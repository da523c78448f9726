"""The platform's AI mix (issue #18, for the platform's analysts): what each provider/model an account uses
costs the platform, what the cheapest model of the catalog's price table would cost for the same requests
and tokens, and the account's AI margin. Pure: the usage and the price table are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from rating.ai_costs import ai_request_cost
from rating.catalog.model import AiCost
from rating.money import ZERO


@dataclass(frozen=True, slots=True)
class ModelUse:
    model: str  # provider/model
    requests: Decimal
    input_tokens: Decimal
    output_tokens: Decimal


@dataclass(frozen=True, slots=True)
class MixOption:
    model: str
    requests: Decimal
    cost: Decimal  # USD, at the model's own price
    cheapest_model: str  # the catalog's cheapest for the same tokens (the model itself when it is)
    cheapest_cost: Decimal

    @property
    def saving(self) -> Decimal:
        return self.cost - self.cheapest_cost


def _cost(table: Mapping[str, Mapping[str, AiCost]], model: str, use: ModelUse) -> Decimal:
    provider, _, name = model.partition("/")
    whole = [int(t.to_integral_value(ROUND_HALF_EVEN)) for t in (use.input_tokens, use.output_tokens)]
    return ai_request_cost(table, provider, name, whole[0], whole[1]).cost


def cheaper_mix(uses: Sequence[ModelUse], table: Mapping[str, Mapping[str, AiCost]]) -> list[MixOption]:
    """Per model used, its cost and the cheapest priced model's cost for the same tokens (ties: the model
    itself, then by name). Models the table does not price cost zero and are not compared."""
    candidates = sorted(f"{p}/{m}" for p, rows in table.items() for m in rows if m != "*")
    out = []
    for use in uses:
        cost = _cost(table, use.model, use)
        best, best_cost = use.model, cost
        if cost > 0:
            for alt in candidates:
                c = _cost(table, alt, use)
                if c < best_cost:
                    best, best_cost = alt, c
        out.append(MixOption(use.model, use.requests, cost, best, best_cost))
    return out


def margin(revenue: Decimal, options: Sequence[MixOption]) -> Decimal:
    """What the account's invoice leaves after the platform's AI cost."""
    return revenue - sum((o.cost for o in options), ZERO)
