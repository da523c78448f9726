"""The ``forecasts`` rows of one account's forecast: the invoice total, each metric and the AI mix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rating.forecast.method import QuantityForecast
from streams.settlement.forecast import AccountForecast, AiModelForecast
from streams.settlement.forecast_refresh import forecast_rows

DOC = {
    "account_id": "org_a",
    "period_start": "2026-06-01T00:00:00+00:00",
    "period_end": "2026-07-01T00:00:00+00:00",
    "as_of": "2026-06-16T00:00:00+00:00",
    "days_elapsed": 15,
    "days_in_period": 30,
    "currency": "usd",
    "total": {"to_date": "49.99", "expected": "549.99", "p10": "500.00", "p90": "600.00"},
    "metrics": [{"metric": "api_calls", "to_date": "75000", "expected": "150000", "p10": "140000", "p90": "160000"}],
}


def test_rows_hold_the_total_the_metrics_and_the_ai_cost_at_the_models_own_price() -> None:
    # 1,000 requests so far costing $2.00; 3,000 expected: the 2,000 more at $0.002 each cost $4.00 more.
    ai = AiModelForecast(
        "openai/gpt-4o", QuantityForecast(1000, 3000, 2500, 3500, 15), Decimal("2.00"), Decimal("0.002")
    )
    rows = forecast_rows(AccountForecast(DOC, [ai]), datetime(2026, 6, 16, 1, tzinfo=UTC))
    got = {r["metric"]: (r["to_date"], r["expected"], r["p10"], r["p90"]) for r in rows}
    assert got == {
        "invoice_total": ("49.99", "549.99", "500.00", "600.00"),
        "api_calls": ("75000", "150000", "140000", "160000"),
        "ai_requests:openai/gpt-4o": ("1000.00", "3000.00", "2500.00", "3500.00"),
        "ai_cost:openai/gpt-4o": ("2.00", "6.000000000", "5.000000000", "7.000000000"),
    }
    assert {(r["period"], r["period_start"], r["as_of"]) for r in rows} == {
        ("2026-06", "2026-06-01 00:00:00", "2026-06-16 00:00:00")
    }


def test_fewer_requests_than_so_far_cost_nothing_more() -> None:
    ai = AiModelForecast("x/y", QuantityForecast(10, 10, 10, 10, 0), Decimal("1"), Decimal("0.5"))
    assert ai.cost_at(5) == Decimal("1")
