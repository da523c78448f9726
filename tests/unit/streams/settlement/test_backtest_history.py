"""The settled-history backtest leaves out the days whose forecast would price a plan change or a credit grant it
could not have known of."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.credits import CreditGrant
from rating.periods import Period
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.settlement.backtest_history import grant_starts_after, plan_changed_after

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


def test_a_credit_grant_taking_effect_after_the_cutoff_is_flagged() -> None:
    def grant(at: datetime) -> CreditGrant:
        return CreditGrant("g1", "launch", Decimal(100), Decimal(100), at)

    may8 = datetime(2026, 5, 8, tzinfo=UTC)
    assert grant_starts_after([grant(datetime(2026, 5, 20, tzinfo=UTC))], MAY, may8)
    assert not grant_starts_after([grant(datetime(2026, 4, 1, tzinfo=UTC))], MAY, may8)  # known at the cutoff
    assert not grant_starts_after([grant(MAY.end)], MAY, may8)  # next period's
    assert not grant_starts_after([], MAY, may8)
