"""``billable_since``: the stretch over which an organization bills its members' usage (or not), which
settlement walks back over to find each account's last storage reading (docs/rating.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rating.subscriptions import SubscriptionHistory, SubscriptionVersion, billable_since


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def v(when: datetime, status: str, n: int) -> SubscriptionVersion:
    return SubscriptionVersion.model_validate(
        {
            "account_id": "org",
            "account_kind": "org",
            "tier": "standard",
            "status": status,
            "anchor": date(2026, 9, 1),
            "effective_from": when,
            "version": n,
        }
    )


def test_the_stretch_starts_where_billability_last_changed() -> None:
    h = SubscriptionHistory(
        "org",
        [
            v(at(9, 21), "active", 1),
            v(at(9, 28), "past_due", 2),  # still billable: no change
            v(at(10, 5), "canceled", 3),
            v(at(10, 20), "unpaid", 4),  # still not billable
            v(at(11, 1), "active", 5),
        ],
    )
    assert billable_since(h, at(9, 10)) is None  # before any version: never billable so far
    assert billable_since(h, at(9, 30)) == at(9, 21)
    assert billable_since(h, at(10, 25)) == at(10, 5)
    assert billable_since(h, at(11, 15)) == at(11, 1)
    assert billable_since(None, at(11, 15)) is None
