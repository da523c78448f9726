"""The membership history of organizations (``memberships``): a stretch per user and membership, opened when
they become a member and closed when they are removed (rating/seats.py reads it as ``Membership``). Seats on
the ``provisioned`` basis are the most members at once in a period; ``members_during`` answers "who was a
member of org X during [a, b)" for anyone else who needs it (a per-member seat status, say)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating.seats import Membership
from rating.seats import members_during as overlapping
from streams.store.db import table_check
from streams.store.models import MembershipRow


def joined(s: Session, org_id: str, user_id: str, at: datetime) -> None:
    """``user_id`` became a member of ``org_id`` at ``at``."""
    s.add(MembershipRow(organization_id=org_id, user_id=user_id, joined_at=at))


def left(s: Session, org_id: str, user_id: str, at: datetime) -> None:
    """``user_id`` stopped being a member of ``org_id`` at ``at`` (closes their open stretch)."""
    for row in s.scalars(
        select(MembershipRow).where(
            MembershipRow.organization_id == org_id, MembershipRow.user_id == user_id, MembershipRow.left_at.is_(None)
        )
    ):
        row.left_at = max(at, row.joined_at)


def history(s: Session, org_id: str) -> list[Membership]:
    """Every membership stretch of ``org_id``, in joining order."""
    rows = s.scalars(select(MembershipRow).where(MembershipRow.organization_id == org_id).order_by(MembershipRow.id))
    return [Membership(r.user_id, r.joined_at, r.left_at) for r in rows]


def members_during(s: Session, org_id: str, start: datetime, end: datetime) -> list[Membership]:
    """The members of ``org_id`` at some instant of ``[start, end)``, one stretch each, in joining order."""
    rows = s.scalars(
        select(MembershipRow).where(
            MembershipRow.organization_id == org_id,
            MembershipRow.joined_at < end,
            (MembershipRow.left_at.is_(None)) | (MembershipRow.left_at > start),
        )
    )
    return overlapping((Membership(r.user_id, r.joined_at, r.left_at) for r in rows), start, end)


def store_memberships(make_session: sessionmaker[Session]) -> Callable[[str], Sequence[Membership]]:
    """What settlement asks: an organization's membership history (none for a person's account)."""

    migrated = table_check(MembershipRow.__tablename__)

    def memberships(account: str) -> Sequence[Membership]:
        with make_session() as s:
            return history(s, account) if migrated(s) else []

    return memberships
