"""AI access requests: the approval workflow of AI controls (issue 17, docs/ai-controls.md). A member asks for an AI
feature or a provider's model (``schemas.ai_rules.Subject``); an owner or admin approves or denies it, or revokes an
approval. While a binding row requires approval, a member may use only what is approved for them."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import ai_rules
from streams.store import orgs
from streams.store.models import AiAccessRequestRow

STATUSES = ("pending", "approved", "denied", "revoked")


def subject_of(r: AiAccessRequestRow) -> ai_rules.Subject:
    if r.feature is not None:
        return ai_rules.feature_subject(r.feature)
    return ai_rules.model_subject(r.provider or "", r.model)


def describe(subject: ai_rules.Subject) -> str:
    """The subject in words (emails, the panel)."""
    if subject[0] == "feature":
        return "AI requests (any allowed model)" if subject[1] == ai_rules.AI_METRIC else subject[1]
    provider, model = subject[1], subject[2]
    return f"any {provider} model" if model == ai_rules.ANY_MODEL else f"{provider}/{model}"


def create(
    s: Session, org_id: str, user_id: str, subject: ai_rules.Subject, reason: str | None, now: datetime
) -> AiAccessRequestRow:
    feature = subject[1] if subject[0] == "feature" else None
    row = AiAccessRequestRow(
        id=f"air_{secrets.token_hex(12)}",
        organization_id=org_id,
        user_id=user_id,
        feature=feature,
        provider=None if feature is not None else subject[1],
        model=None if feature is not None else subject[2],
        reason=reason,
        status="pending",
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def get(s: Session, org_id: str, request_id: str, *, for_update: bool = False) -> AiAccessRequestRow | None:
    q = select(AiAccessRequestRow).where(
        AiAccessRequestRow.id == request_id, AiAccessRequestRow.organization_id == org_id
    )
    return s.scalars(q.with_for_update() if for_update else q).first()


def listed(
    s: Session, org_id: str, *, user_id: str | None = None, status: str | None = None, limit: int = 500
) -> list[AiAccessRequestRow]:
    """Newest first."""
    q = select(AiAccessRequestRow).where(AiAccessRequestRow.organization_id == org_id)
    if user_id is not None:
        q = q.where(AiAccessRequestRow.user_id == user_id)
    if status is not None:
        q = q.where(AiAccessRequestRow.status == status)
    q = q.order_by(AiAccessRequestRow.created_at.desc(), AiAccessRequestRow.id.desc()).limit(limit)
    return list(s.scalars(q))


def open_for(s: Session, org_id: str, user_id: str, subject: ai_rules.Subject) -> AiAccessRequestRow | None:
    """The member's pending or approved request of ``subject``, if any (one at a time)."""
    rows = listed(s, org_id, user_id=user_id)
    return next((r for r in rows if r.status in ("pending", "approved") and subject_of(r) == subject), None)


def approved(s: Session, org_id: str, user_id: str) -> frozenset[ai_rules.Subject]:
    """What is approved for the member now: asked for during their present membership (someone removed and invited
    again asks anew; a former member has nothing)."""
    m = orgs.member(s, org_id, user_id)
    if m is None:
        return frozenset()
    rows = listed(s, org_id, user_id=user_id, status="approved")
    return frozenset(subject_of(r) for r in rows if r.created_at >= m.created_at)


def decide(r: AiAccessRequestRow, status: str, by: str, note: str | None, now: datetime) -> None:
    r.status, r.decided_by, r.decided_at, r.note = status, by, now, note
