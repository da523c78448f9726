"""A subscription starting inside a period: the usage before it is rated as it happened, under the
catalog's default tier (docs/rating.md: each event under the version in effect at its own time; no
subscription = the default tier), and the storage average covers the whole period. Found by the
random-month check (issue 19); worked by hand through settlement's pure path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.invoice import billing_segments, preview_invoice
from rating.periods import Period
from rating.settle import SettledEvent, hourly_usage, storage_gauge, usage_by_segment
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion

CATALOG = load_catalog()
NOV = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
NOV16 = datetime(2026, 11, 16, tzinfo=UTC)  # 15 of 30 days left


def ms(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_usage_before_a_subscription_starting_inside_the_period_is_rated_under_the_default_tier() -> None:
    history = SubscriptionHistory(
        "u",
        [
            SubscriptionVersion(
                account_id="u",
                account_kind="user",
                tier="standard",
                anchor=date(2026, 11, 1),
                effective_from=NOV16,
                version=1,
            )
        ],
    )
    before, after = datetime(2026, 11, 10, 9, tzinfo=UTC), datetime(2026, 11, 20, 9, tzinfo=UTC)

    def ev(n: int, metric: str, at: datetime, qty: int, feature: str = "") -> SettledEvent:
        return SettledEvent(f"e{n}", "u", "u", None, metric, Decimal(qty), ms(at), feature=feature)

    events = [
        ev(1, "api_calls", before, 150_000),  # free: 10,000 included, a hard cap, never billed
        ev(2, "premium_feature", before, 3, "deep_research"),  # free: not entitled, never billed
        ev(3, "api_calls", after, 10_000),
        ev(4, "premium_feature", after, 1, "deep_research"),
    ]
    rows = hourly_usage(events, lambda a: history if a == "u" else None, CATALOG)
    cat = CATALOG.at(NOV.start)
    segments = billing_segments(history, NOV, cat)
    # 80 GB held all period (a reading on Oct 31 carried in).
    storage = storage_gauge(Decimal(80), [])
    inv = preview_invoice(history, usage_by_segment(rows, segments, storage), NOV, cat)
    assert {ln.code: str(ln.amount) for ln in inv.lines} == {
        "base_fee_proration": "25.00",  # 49.99 x 15/30 = 24.995 -> 25.00
        # The period's 160,000 calls: standard's rule adds 160,000 - 150,000 over its 100,000 -> 10,000 x $0.01.
        "api_calls_overage": "100.00",
        "premium_feature:deep_research": "0.50",  # the one use under standard
        "storage_overage": "3.00",  # 80 GB all period: 30 GB over standard's 50 x $0.10
    }
