"""Budget alerts: once when the forecast's expected total passes the budget, again when actual usage does
(issue #18). Pure: the totals are passed in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Kind = Literal["forecast", "actual"]


@dataclass(frozen=True, slots=True)
class BudgetCrossing:
    kind: Kind  # forecast: the expected total passes the budget; actual: the invoice so far does
    budget: Decimal
    amount: Decimal  # the total that passed it


def budget_crossings(budget: Decimal, expected: Decimal, to_date: Decimal) -> list[BudgetCrossing]:
    """The budget's crossings now; each is sent once per account, period and kind (``budget_alert_key``)."""
    if budget <= 0:
        return []
    out = []
    if expected > budget:
        out.append(BudgetCrossing("forecast", budget, expected))
    if to_date > budget:
        out.append(BudgetCrossing("actual", budget, to_date))
    return out


def budget_alert_key(account: str, period_key: str, kind: Kind) -> str:
    return f"budget_alert:{account}:{period_key}:{kind}"
