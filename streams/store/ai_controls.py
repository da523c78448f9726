"""AI controls: what an organization lets its people do with AI (issue 17 item 3, docs/ai-controls.md).

One row for the organization (``user_id`` ``*``) and one per member who has controls of their own; a member is
bound by both. The rule is ``schemas.ai_rules`` (shared with the SDK's local check).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rating.ai_caps import AiCap
from schemas import ai_rules
from streams.store import ai_access
from streams.store.models import AiControlsRow

ORG = ai_rules.ORG
NO_CAP = AiCap(None, None, False)


def for_organization(s: Session, org_id: str) -> list[AiControlsRow]:
    q = select(AiControlsRow).where(AiControlsRow.organization_id == org_id)
    return list(s.scalars(q.order_by(AiControlsRow.user_id)))


@dataclass(frozen=True, slots=True)
class Rule(ai_rules.Controls):
    """One row's rule, detached from the session (kept in the API's cache): the controls a gateway knows
    (``schemas.ai_rules.Controls``) plus the row's monthly cap and whose row it is."""

    cap: AiCap = NO_CAP
    user_id: str = ORG  # whose row: the organization's (``*``) or a member's

    @classmethod
    def of(cls, row: AiControlsRow, approved: frozenset[ai_rules.Subject] = frozenset()) -> Rule:
        def opt(values: list[str] | None) -> frozenset[str] | None:
            return frozenset(values) if values is not None else None

        return cls(
            frozenset(row.disabled_features),
            opt(row.allowed_providers),
            opt(row.allowed_models),
            approval_required=row.approval_required,
            approved=approved,  # a member's approved AI access (streams/store/ai_access.py)
            cap=cap_of(row),
            user_id=row.user_id,
        )


def cap_of(row: AiControlsRow) -> AiCap:
    spend = Decimal(row.monthly_spend_cap) if row.monthly_spend_cap is not None else None
    return AiCap(spend, row.monthly_request_cap, row.cap_mode == "hard")


def capped_organizations(s: Session) -> list[str]:
    """Organizations with a monthly AI cap set (for them or a member): what the cap watcher checks."""
    q = select(AiControlsRow.organization_id).where(
        (AiControlsRow.monthly_spend_cap.is_not(None)) | (AiControlsRow.monthly_request_cap.is_not(None))
    )
    return sorted(set(s.scalars(q)))


def rule_of(s: Session, org_id: str, user_key: str) -> Rule | None:
    """One row's rule: its controls and, for a member, what is approved for them (a member with approvals and no
    controls of their own has a rule of approvals alone); None when there is neither."""
    row = s.get(AiControlsRow, (org_id, user_key))
    approved = ai_access.approved(s, org_id, user_key) if user_key != ORG else frozenset()
    if row is not None:
        return Rule.of(row, approved)
    return Rule(frozenset(), None, None, user_id=user_key, approved=approved) if approved else None


def rules(s: Session, org_id: str, user_id: str | None) -> tuple[Rule, ...]:
    """The rules binding ``user_id`` in ``org_id`` (the organization's, then the member's own)."""
    keys = [ORG] + ([user_id] if user_id is not None and user_id != ORG else [])
    return tuple(r for k in keys if (r := rule_of(s, org_id, k)) is not None)
