"""The billing API's models of AI controls (issue 17 item 3, docs/ai-controls.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.ids import ID_PATTERN

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$"
_FEATURE = r"^[a-z][a-z0-9_]{0,63}$"


class AiControlsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    disabled_features: list[str] = Field(
        default_factory=list, max_length=100, description="tier or premium features switched off (e.g. deep_research)"
    )
    allowed_providers: list[str] | None = Field(
        None, max_length=50, description="AI providers allowed (null: any the tier allows)"
    )
    allowed_models: list[str] | None = Field(None, max_length=200, description="models allowed (null: any)")
    monthly_spend_cap: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2, description="USD a month")
    monthly_request_cap: int | None = Field(None, ge=0, le=10**12, description="AI requests a month")
    cap_mode: Literal["hard", "alert"] = Field("alert", description="hard: refuse past the cap; alert: only alert")
    approval_required: bool = Field(False, description="new AI features need an admin's approval (the seed's workflow)")

    def names_ok(self) -> str | None:
        import re

        for f in self.disabled_features:
            if not re.fullmatch(_FEATURE, f):
                return f"disabled_features: {f!r} is not a feature name"
        for what, names in (("allowed_providers", self.allowed_providers), ("allowed_models", self.allowed_models)):
            for n in names or []:
                if not re.fullmatch(_NAME, n):
                    return f"{what}: {n!r} is not a provider or model name"
        return None


class AiControlsOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(description="the member (null: the whole organization)")
    disabled_features: list[str]
    allowed_providers: list[str] | None
    allowed_models: list[str] | None
    monthly_spend_cap: str | None
    monthly_request_cap: int | None
    cap_mode: Literal["hard", "alert"]
    approval_required: bool
    updated_at: datetime | None
    updated_by: str | None


class AiControlsList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: str
    tier_features: list[str] = Field(
        description="the features and premium features the organization's tier allows now: what can be switched off"
    )
    organization: AiControlsOut = Field(description="the controls every member is bound by")
    members: list[AiControlsOut] = Field(description="members with controls of their own (bound by both)")


class AccessRequestIn(BaseModel):
    """What a member asks for: an AI feature (``feature``) or a provider's model (``provider``, ``model``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    feature: str | None = Field(
        None,
        pattern=_FEATURE,
        description="a premium feature (deep_research, ...) or ai_requests: AI requests with "
        "any provider and model the controls allow",
    )
    provider: str | None = Field(None, pattern=_NAME, description="an AI provider of the catalog (with model)")
    model: str | None = Field(None, pattern=_NAME, description="one of its models (null: any of them)")
    reason: str | None = Field(None, max_length=500, description="why, in the member's words")


class AccessDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(None, max_length=500, description="a note to the member")


class AccessRequestOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    organization_id: str
    user_id: str
    feature: str | None = Field(description="the feature asked for (null: a provider's model)")
    provider: str | None
    model: str | None = Field(description="'*': any model of the provider")
    reason: str | None
    status: Literal["pending", "approved", "denied", "revoked"]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None = Field(description="user:<id> or key:<id> of the owner or admin who decided")
    note: str | None


class AccessModelOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    models: list[str]


class AccessRequestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "denied", "revoked"] | None = None
    user_id: str | None = Field(None, pattern=ID_PATTERN)


class AccessRequestList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: str
    approval_required: bool = Field(
        description="the caller's AI use needs approval (the organization's switch or their own row's)"
    )
    scope: Literal["organization", "self"] = Field(description="self: a member sees only their own requests")
    features: list[str] = Field(description="what may be asked for: the catalog's premium features and ai_requests")
    models: list[AccessModelOption] = Field(description="the catalog's providers and their models")
    requests: list[AccessRequestOut] = Field(description="newest first")
