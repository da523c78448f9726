"""The billing API's models of an organization's analytics (issue 17): monthly trends for its admins."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: int = Field(6, ge=1, le=24, description="calendar months back, this one included")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonthTrend(_Out):
    month: str = Field(description="YYYY-MM (calendar month, UTC)")
    metrics: dict[str, str] = Field(description="settled quantity per metric (storage_gb: the highest reading)")
    invoiced: str | None = Field(description="the total of the finalized invoices of periods starting this month")
    ai_requests: str
    ai_cost: str = Field(description="the platform's cost of the AI requests (AI cost attribution), USD")
    ai_billed: str = Field(description="what the invoices charged for premium AI features, USD")
    active_users: int = Field(description="members (or others) with any settled usage this month")
    members: int = Field(description="the most members at once this month (membership history)")
    seat_utilisation: str | None = Field(description="active users / members, 4 decimals (null: no members)")


class GroupTrend(_Out):
    month: str
    group: str = Field(description="a module (the events' module property; '' none) or a role (member group)")
    metric: str
    quantity: str
    ai_cost: str | None = Field(description="USD, for roles (null for modules)")


class OrgAnalytics(_Out):
    organization_id: str
    as_of: datetime
    months: list[MonthTrend]
    by_module: list[GroupTrend]
    by_role: list[GroupTrend] = Field(description="by the role its members have now ('former' for those who left)")
