"""Budget crossings: the forecast's expected total, then the total so far, each above the budget."""

from __future__ import annotations

from decimal import Decimal

from rating.forecast.budgets import budget_alert_key, budget_crossings


def test_crossings() -> None:
    b = Decimal(300)
    assert budget_crossings(b, Decimal("300.00"), Decimal(0)) == []  # reaching it is not passing it
    (f,) = budget_crossings(b, Decimal("300.01"), Decimal("49.99"))
    assert (f.kind, f.amount) == ("forecast", Decimal("300.01"))
    assert [c.kind for c in budget_crossings(b, Decimal(400), Decimal(301))] == ["forecast", "actual"]
    assert budget_crossings(Decimal(0), Decimal(400), Decimal(301)) == []  # no budget set
    assert budget_alert_key("org_1", "2026-03", "actual") == "budget_alert:org_1:2026-03:actual"
