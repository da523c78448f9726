"""The usage breakdown's answer (``GET /api/billing/usage/breakdown``): AI requests by provider and model, premium
features by feature, settled so far this period. Money and quantities are decimal strings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from streams.api.models import Period


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AiModelUsage(_Out):
    provider: str
    model: str
    requests: str
    input_tokens: int
    output_tokens: int
    charge: str = Field(description="what the settled requests add to the invoice so far (overage; 0 within included)")


class FeatureUsage(_Out):
    feature: str
    uses: str
    unit_price: str | None = Field(description="the plan's price per use; null when the plan does not offer it")
    charge: str = Field(description="what the settled uses add to the invoice so far")


class UsageBreakdown(_Out):
    account_id: str
    period: Period
    currency: str
    settled_until: datetime | None = Field(description="usage up to here is settled (null: nothing settled yet)")
    ai: list[AiModelUsage] = Field(description="AI requests per provider and model, the biggest charge first")
    premium_features: list[FeatureUsage]
