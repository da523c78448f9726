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
    as_of: datetime = Field(description="the settled full days end here (the last midnight UTC)")
    days_elapsed: int
    days_in_period: int
    currency: str
    total: ForecastTotal
    metrics: list[MetricForecast]
    lines: list[InvoiceLine] = Field(description="the invoice at the expected quantities")
