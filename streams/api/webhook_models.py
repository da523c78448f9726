"""The billing API's models of outgoing webhook endpoints (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEBHOOK_ENDPOINT_ID_PATTERN = r"^we_[0-9a-f]{24}$"
EventType = Literal[
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.overdue",
    "subscription.updated",
    "usage.alert",
    "budget.alert",
]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(max_length=2000, description="where events are POSTed: an http(s) URL")
    event_types: list[EventType] = Field(min_length=1, max_length=7, description="the events sent to it")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ValueError("an http(s) URL with a host and no credentials")
        return v

    @field_validator("event_types")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpointOut(_Out):
    id: str
    organization_id: str
    url: str
    event_types: list[str]
    created_at: datetime
    secret: str | None = Field(
        None, description="whsec_...: shown once, when the endpoint is created or its secret rotated"
    )


class WebhookEndpointList(_Out):
    endpoints: list[WebhookEndpointOut]


class WebhookDeliveryOut(_Out):
    event_id: str = Field(description="the webhook-id header: the same on every attempt")
    event_type: str
    created_at: datetime
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    done_at: datetime | None
    outcome: Literal["delivered", "failed"] | None = Field(description="None while pending")


class WebhookDeliveryList(_Out):
    deliveries: list[WebhookDeliveryOut]
