"""An account's cost recommendations and the platform's AI mix, from settled data (docs/forecasting.md,
"Recommendations"): the last closed periods' settled usage and the current period's forecast usage, each
saving computed by ``rating.forecast.recommendations`` (two sums of invoices of the rating code)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rating.forecast.ai_mix import ModelUse, cheaper_mix, margin
from rating.forecast.recommendations import (
    UNUSED_PERIODS,
    Recommendation,
    annual_instead_of_monthly,
    change_tier,
    downgrade_when_quota_unused,
    premium_contract,
    unused_seats,
    worth_showing,
)
from rating.invoice import TAX_PREFIX
from rating.money import money_text
from rating.periods import Period, next_period
from rating.settle import account_period
from rating.subscriptions import SubscriptionVersion
from rating.usage import PeriodUsage
from streams.settlement.forecast import AccountForecast, forecast_account
from streams.settlement.settler import Settler

#: Closed periods read for the recommendations (a downgrade needs three).
CLOSED_PERIODS = UNUSED_PERIODS
YEAR = 12


def _closed(settler: Settler, account: str, period: Period) -> list[tuple[Period, PeriodUsage]]:
    """The settled usage of up to CLOSED_PERIODS periods before ``period``, oldest first; a period a plan
    change split is left out (the comparisons are of whole periods under one plan)."""
    out = []
    p = period
    for _ in range(CLOSED_PERIODS):
        p = account_period(account, settler.histories, p.start - timedelta(microseconds=1))
        inputs = settler.invoice_inputs(account, p, until=p.end, history_from=p.start)
        if len(inputs.usage) == 1:
            out.append((p, inputs.usage[0]))
    return out[::-1]


def account_recommendations(
    settler: Settler, account: str, now: datetime, min_saving: Decimal
) -> tuple[SubscriptionVersion | None, list[Recommendation], AccountForecast]:
    """The recommendations worth showing (saving at least ``min_saving``, largest first), the version they
    are for and the current period's forecast they used."""
    period = account_period(account, settler.histories, now)
    forecast = forecast_account(settler, account, period, now)
    history = settler.histories(account)
    current = history.at(now) if history is not None else None
    if current is None or current.status not in ("active", "trialing"):
        return current, [], forecast
    catalog = settler.catalog_at(now)
    closed = _closed(settler, account, period)
    this = [(period, forecast.expected_usage)] if forecast.expected_usage is not None else []
    recent = [*closed, *this]
    # The year to come: this period's forecast usage repeated, as the annual plan would bill it.
    year: list[tuple[Period, PeriodUsage]] = []
    if forecast.expected_usage is not None:
        p = period
        for _ in range(YEAR):
            year.append((p, forecast.expected_usage))
            p = next_period(current.anchor, p)
    tiers = list(catalog.tiers)
    here = tiers.index(current.tier) if current.tier in tiers else -1
    recs: list[Recommendation | None] = [annual_instead_of_monthly(current, year, catalog)]
    recs += [change_tier(current, t, recent, catalog, kind="upgrade") for t in tiers[here + 1 :]]
    recs += [downgrade_when_quota_unused(current, closed, catalog, t) for t in tiers[: max(here, 0)]]
    recs += [unused_seats(current, recent, catalog), premium_contract(current, recent, catalog)]
    return current, worth_showing(recs, min_saving), forecast


def recommendation_document(rec: Recommendation) -> dict[str, Any]:
    return {
        "kind": rec.kind,
        "title": rec.title,
        "saving": money_text(rec.saving),
        "periods": rec.periods,
        "current_total": money_text(rec.current_total),
        "alternative_total": money_text(rec.alternative_total),
    }


def ai_mix_document(forecast: AccountForecast, settler: Settler, now: datetime) -> dict[str, Any]:
    """The account's AI margin this period (expected invoice total before tax less the platform's
    expected AI cost) and, per provider/model, the cheapest priced model for the same tokens."""
    uses: Sequence[ModelUse] = [
        ModelUse(
            m.model,
            Decimal(repr(m.requests.expected)),
            Decimal(repr(m.requests.expected)) * m.input_per_request,
            Decimal(repr(m.requests.expected)) * m.output_per_request,
        )
        for m in forecast.ai_models
    ]
    options = cheaper_mix(uses, settler.catalog_at(now).ai_costs)
    doc = forecast.document
    revenue = sum((Decimal(ln["amount"]) for ln in doc["lines"] if not ln["code"].startswith(TAX_PREFIX)), Decimal(0))
    return {
        "account_id": doc["account_id"],
        "period_start": doc["period_start"],
        "period_end": doc["period_end"],
        "revenue_expected": money_text(revenue),
        "ai_cost_expected": money_text(sum((o.cost for o in options), Decimal(0))),
        "margin_expected": money_text(margin(revenue, options)),
        "saving_expected": money_text(sum((o.saving for o in options), Decimal(0))),
        "models": [
            {
                "model": o.model,
                "requests_expected": f"{o.requests:.0f}",
                "cost_expected": money_text(o.cost),
                "cheapest_model": o.cheapest_model,
                "cheapest_cost": money_text(o.cheapest_cost),
                "saving": money_text(o.saving),
            }
            for o in options
        ],
    }
