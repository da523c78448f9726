"""The billing API's models of an organization's live usage per member and of its seats (issue 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.api.models import Period, UsageCurrent


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelUseOut(_Out):
    provider: str = Field(description="the AI provider the events named ('' when none)")
    model: str
    requests: str
    input_tokens: int
    output_tokens: int
    spend: str = Field(description="the platform's cost of these requests, USD (catalog ai_costs), 4 decimals")


class CapStatus(_Out):
    spend_cap: str | None = Field(description="USD a month (null: none)")
    request_cap: int | None
    mode: Literal["hard", "alert"]
    reached: list[Literal["spend", "requests"]] = Field(description="the caps reached this period")
    alerts: list[str] = Field(description="thresholds crossed this period, e.g. spend_80, requests_100")


class UsageOut(_Out):
    metrics: dict[str, str] = Field(description="period-to-date quantity per metric (storage_gb: the highest reading)")
    ai_requests: str
    input_tokens: int
    output_tokens: int
    ai_spend: str = Field(description="USD, 4 decimals")
    by_model: list[ModelUseOut]
    cap: CapStatus | None = Field(description="the monthly AI cap that applies to this use (null: none)")


class MemberUsageOut(UsageOut):
    user_id: str
    role: str | None = Field(description="the member's role (null: usage of someone no longer a member)")


class OrgUsageLive(_Out):
    organization_id: str
    period: Period
    as_of: datetime = Field(description="when the figures were read (they lag the events by seconds)")
    scope: Literal["organization", "self"] = Field(description="self: a member sees only their own use")
    organization: UsageOut | None = Field(description="everyone's use against the organization's cap (null: self)")
    members: list[MemberUsageOut] = Field(description="by AI spend, then requests, highest first")


class OrgUsageStreamEvent(_Out):
    """One ``usage`` event of ``GET /api/billing/organizations/{id}/usage/stream`` (its ``data``, as JSON)."""

    as_of: datetime = Field(description="when these figures were read")
    usage: UsageCurrent = Field(description="the organization's usage per metric against its pooled quotas (live)")
    members: OrgUsageLive = Field(description="the per-member breakdown, as GET .../usage/members answers it")


class SeatOut(_Out):
    user_id: str
    role: str | None = Field(description="null: used the organization's services without being a member now")
    status: Literal["active", "provisioned", "invited"] = Field(
        description="active: any usage this period; provisioned: a member this period without usage; "
        "invited: an invitation not yet accepted"
    )
    cost: str = Field(
        description="what this seat costs this period so far, USD: the seats the basis counts share the seat charge"
    )


class SeatList(_Out):
    organization_id: str
    period: Period
    tier: str
    seat_basis: Literal["active", "provisioned"] = Field(
        description="active: users with any usage are seats; provisioned: the most members at once"
    )
    active: int
    billed: int = Field(description="seats billed so far under the basis, at least the contract's minimum")
    seat_price: str | None = Field(description="per seat at the reached bracket (null: the tier bills no seats)")
    seat_charge: str = Field(description="the period's seat charge so far, USD")
    seats: list[SeatOut]


class AlertOut(_Out):
    kind: Literal["usage_alert", "ai_cap_alert", "budget_alert"]
    at: datetime
    summary: str = Field(description="the alert in words (the subject of its email)")
    emailed: bool = Field(description="the email went out (false: pending, or no billing email to send it to)")


class AlertList(_Out):
    organization_id: str
    period: Period
    alerts: list[AlertOut] = Field(description="raised this period, newest first")
