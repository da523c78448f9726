"""The billing API's models of the audit log (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str | None = Field(
        None, max_length=64, pattern=r"^[a-z_]+(\.[a-z_]*)?$", description="an action, or a prefix such as `member.`"
    )
    actor: str | None = Field(None, max_length=160, description="`user:<id>`, `key:<id>`, `operator:<id>`")
    target: str | None = Field(None, max_length=200, description="what was changed, e.g. a member's user id")
    since: datetime | None = Field(None, description="entries at or after this time (RFC 3339 with offset)")
    until: datetime | None = Field(None, description="entries before this time")
    cursor: int | None = Field(None, ge=1, description="`next_cursor` of the previous page")
    limit: int = Field(50, ge=1, le=500)


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: datetime
    actor: str = Field(description="who: `user:<id>`, `key:<id>`, `operator:<id>` or `system`")
    action: str = Field(description="what kind of change, e.g. `member.role_changed` (docs/audit.md)")
    target: str | None = Field(description="what was changed: a user id, key id, subscription or invoice id")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None = Field(description="the client address the API saw")
    user_agent: str | None


class AuditPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: str
    entries: list[AuditEntryOut] = Field(description="newest first")
    next_cursor: int | None = Field(description="pass as `cursor` for the next page; null on the last one")
