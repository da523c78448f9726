"""The request side of the audit log: who the caller is and where it calls from, recorded with a change by
``audit_change`` (the one call every write path of the API makes; ``streams.store.audit.record`` below it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from streams.api.auth import Principal
from streams.api.limits import client_address
from streams.api.routing import Call
from streams.store import audit


def actor_of(who: Principal) -> str:
    """``user:<id>`` or ``key:<id>``; an operator acting by the platform's JWT is ``operator:<user id>``."""
    if who.kind == "api_key":
        return f"key:{who.key_id}"
    return f"{'operator' if who.operator else 'user'}:{who.user_id}"


def origin(call: Call, who: Principal) -> audit.Origin:
    return audit.Origin(actor_of(who), client_address(call.request), call.request.headers.get("user-agent"))


def audit_change(
    call: Call,
    s: Session,
    who: Principal,
    org_id: str | None,
    action: str,
    *,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a change of ``org_id`` in the transaction of ``s`` (it commits or rolls back with the change).
    ``org_id`` None: a person's own subscription made in no organization, no organization's record."""
    if org_id is None:
        return
    audit.record(s, org_id, origin(call, who), action, call.ctx.clock(), target=target, before=before, after=after)
