"""Who is a seat (docs/rating.md): a distinct user with any usage event billed to the account in the
period — any metric, ``active_user`` heartbeats included. Settlement (``rating/settle.py``) and the
live view (``streams/live/rating.py``) both decide it here."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.events import Metric

#: The metric seats are reported under (live quota state, rated lines, usage API).
SEAT_METRIC: str = Metric.ACTIVE_USER.value


def seat_users(usage: Iterable[tuple[str, int]]) -> set[str]:
    """The seats among ``(user_id, events)`` pairs: every user with at least one event, whatever its
    metric or quantity (a settled row with no events is a retraction, not usage)."""
    return {user for user, events in usage if events > 0}
