"""The forecast endpoint's answer (docs/forecasting.md). Money and quantities are decimal strings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from streams.api.models import InvoiceLine


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForecastTotal(_Out):
    to_date: str = Field(description="the invoice of the usage settled so far")
    expected: str
    p10: str = Field(description="the lower end of the 80 % interval")
    p90: str = Field(description="the upper end of the 80 % interval")


class MetricForecast(_Out):
    metric: str = Field(description="api_calls, ai_requests or premium_feature:<feature>")
    to_date: str
    expected: str
    p10: str
    p90: str
    daily: list[str] = Field(description="the settled quantity of each day of the period so far")


class Forecast(_Out):
    account_id: str
    period_start: datetime
    period_end: datetime
    as_of: datetime = Field(description="the settled whole days end here (the midnight UTC before settled_until)")
    settled_until: datetime = Field(description="the settled watermark: the day's hours before it are in to_date")
    live_until: datetime = Field(
        description="the live (provisional) counts after settled_until up to here are in the forecast "
        "(settled_until when none were used)"
    )
    days_elapsed: int
    days_in_period: int
    currency: str
    total: ForecastTotal
    metrics: list[MetricForecast]
    lines: list[InvoiceLine] = Field(description="the invoice at the expected quantities")


class RecommendationOut(_Out):
    kind: str = Field(description="annual | upgrade | downgrade | seats | contract")
    title: str
    saving: str = Field(description="current_total - alternative_total: what the alternative saves over `periods`")
    periods: int = Field(description="the periods compared (settled ones, and the forecast for periods to come)")
    current_total: str = Field(description="the invoices of the account's plan, by the rating code")
    alternative_total: str = Field(description="the invoices of the alternative, same usage")


class Recommendations(_Out):
    account_id: str
    currency: str
    min_saving: str = Field(description="only recommendations saving at least this much are shown")
    tier: str | None = Field(description="the plan the recommendations are for (null: no subscription)")
    recommendations: list[RecommendationOut] = Field(description="largest saving first")


class AiModelMix(_Out):
    model: str = Field(description="provider/model")
    requests_expected: str
    cost_expected: str = Field(description="the platform's cost, USD, at this model's price")
    cheapest_model: str = Field(description="the cheapest priced model for the same tokens")
    cheapest_cost: str
    saving: str


class AiMix(_Out):
    account_id: str
    period_start: datetime
    period_end: datetime
    revenue_expected: str = Field(description="the period's expected invoice before tax")
    ai_cost_expected: str = Field(description="the platform's expected AI cost, USD")
    margin_expected: str
    saving_expected: str = Field(description="the AI cost saved if every model were its cheapest alternative")
    models: list[AiModelMix]
