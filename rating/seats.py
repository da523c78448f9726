"""Who is a seat (docs/rating.md, "Seats"), under the seat basis a tier or contract chooses:

- ``active`` (the default): a distinct user with any usage event billed to the account in the period — any
  metric, ``active_user`` heartbeats included;
- ``provisioned``: the most members the organization had at any one time in the period (its membership
  history, kept by the billing store: ``streams/store/memberships.py``).

Settlement (``rating/settle.py``, ``rating/invoice.py``), the live view (``streams/live/rating.py``, the usage
API) and the upcoming invoice all decide it here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.events import Metric

#: The metric seats are reported under (live quota state, rated lines, usage API).
SEAT_METRIC: str = Metric.ACTIVE_USER.value

SeatBasis = Literal["active", "provisioned"]
SEAT_BASES: tuple[SeatBasis, ...] = ("active", "provisioned")


def seat_users(usage: Iterable[tuple[str, int]]) -> set[str]:
    """The seats among ``(user_id, events)`` pairs: every user with at least one event, whatever its
    metric or quantity (a settled row with no events is a retraction, not usage)."""
    return {user for user, events in usage if events > 0}


@dataclass(frozen=True, slots=True)
class Membership:
    """One stretch of a user's membership of an organization: from ``joined`` until ``left`` (None: still a
    member). A user who leaves and joins again has two stretches."""

    user_id: str
    joined: datetime
    left: datetime | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """A member at some instant of ``[start, end)``."""
        return self.joined < end and (self.left is None or self.left > start)


def members_during(spans: Iterable[Membership], start: datetime, end: datetime) -> list[Membership]:
    """The membership stretches that overlap ``[start, end)``, in joining order."""
    return sorted((m for m in spans if m.overlaps(start, end)), key=lambda m: (m.joined, m.user_id))


def most_members(spans: Iterable[Membership], start: datetime, end: datetime) -> int:
    """The most distinct members at any one instant of ``[start, end)``: a member who leaves at the very
    instant another joins is not counted with them (a stretch ends before ``left``)."""
    changes: list[tuple[datetime, int, str]] = []  # (instant, 0 leave / 1 join, user): leaves first
    for m in members_during(spans, start, end):
        changes.append((max(m.joined, start), 1, m.user_id))
        if m.left is not None and m.left < end:
            changes.append((m.left, 0, m.user_id))
    present: dict[str, int] = {}
    most = 0
    for _, join, user in sorted(changes):
        present[user] = present.get(user, 0) + (1 if join else -1)
        if not present[user]:
            del present[user]
        most = max(most, len(present))
    return most


def counted_seats(basis: SeatBasis, active_users: int, provisioned: int) -> int:
    """The seats of a stretch under ``basis``: its distinct active users, or the most members it had."""
    return provisioned if basis == "provisioned" else active_users
