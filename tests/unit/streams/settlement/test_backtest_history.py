"""The settled-history backtest leaves out the days whose forecast would price a plan change or a credit grant it
could not have known of, and taxes each replay day at the rates in effect on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

from rating.credits import CreditGrant
from rating.periods import Period
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.tax import TaxRate, TaxTable
from sinks.clickhouse.settlement import SettlementStore
from streams.settlement.backtest_history import _AsOf, grant_starts_after, plan_changed_after
from streams.settlement.settler import Settler

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


class _TaxedSettler:
    """The settler's tax lookup as ``store_taxes`` makes it: the rates in effect on the period's last day."""

    def __init__(self, table: TaxTable) -> None:
        self.table = table

    def tax_rates(self, account: str, period: Period) -> list[TaxRate]:
        return self.table.in_effect("DE", None, (period.end - timedelta(days=1)).date())


def test_the_replay_taxes_at_the_rates_in_effect_on_its_day() -> None:
    # VAT 19 % until May 19, 21 % from May 20: May's invoice carries 21 % (its last day's rate). Replayed at day 7
    # (May 8) and day 15 (May 16) the 21 % was not in effect yet; at day 25 (May 26) it was.
    table = TaxTable(
        "test",
        (
            TaxRate("DE", None, "vat", Decimal("0.19"), date(2020, 1, 1)),
            TaxRate("DE", None, "vat", Decimal("0.21"), date(2026, 5, 20)),
        ),
    )
    settler = cast(Settler, _TaxedSettler(table))
    store = cast(SettlementStore, None)  # tax_rates reads no table
    rate = {
        day: _AsOf(settler, store, MAY.start + timedelta(days=day)).tax_rates("acme", MAY)[0].rate
        for day in (7, 15, 25)
    }
    assert rate == {7: Decimal("0.19"), 15: Decimal("0.19"), 25: Decimal("0.21")}
    assert settler.tax_rates("acme", MAY)[0].rate == Decimal("0.21")
