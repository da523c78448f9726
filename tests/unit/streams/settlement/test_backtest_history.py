"""The settled-history backtest leaves out the days whose forecast would price a plan change it could not know."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rating.periods import Period
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.settlement.backtest_history import plan_changed_after

MAY = Period(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


def _version(tier: str, at: datetime, n: int) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id="acme", account_kind="org", tier=tier, anchor=date(2026, 5, 1), effective_from=at, version=n
    )


def test_a_plan_change_after_the_cutoff_and_inside_the_period_is_flagged() -> None:
    history = SubscriptionHistory(
        "acme",
        [
            _version("standard", datetime(2026, 4, 1, tzinfo=UTC), 1),
            _version("enterprise", datetime(2026, 5, 20, tzinfo=UTC), 2),
        ],
    )
    assert plan_changed_after(history, MAY, datetime(2026, 5, 8, tzinfo=UTC))  # day 7: the upgrade is ahead
    assert plan_changed_after(history, MAY, datetime(2026, 5, 16, tzinfo=UTC))
    assert not plan_changed_after(history, MAY, datetime(2026, 5, 26, tzinfo=UTC))  # day 25: already known
    # A change from the next period on is not this period's.
    later = SubscriptionHistory(
        "acme", [_version("standard", datetime(2026, 4, 1, tzinfo=UTC), 1), _version("free", MAY.end, 2)]
    )
    assert not plan_changed_after(later, MAY, datetime(2026, 5, 8, tzinfo=UTC))
