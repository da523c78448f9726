"""The live view puts usage in the period settlement bills it in (docs/rating.md "Periods"): periods are
anchored on the subscription's anchor day, also for usage before the subscription starts (it falls in
periods on the same anchor, as settlement does), and anchors on the 29th-31st fall on the last day of
a shorter month. Expected periods are worked out by hand from that rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from rating.catalog.loader import load_catalog
from rating.subscriptions import SubscriptionVersion
from schemas.events import AcceptedEvent, epoch_ms
from streams.live.rating import rate_batch
from streams.live.resolve import Resolver
from streams.subscriptions.registry import SubscriptionRegistry

CATALOG = load_catalog()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sub(account: str, anchor: date, effective: datetime, kind: str = "user") -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id=account, account_kind=kind, tier="standard", anchor=anchor, effective_from=effective, version=1
    )


CASES = [
    # (anchor, subscription effective from, usage at, period start, period end, key)
    # The case: anchored on the 2nd, subscribed on Nov 2; usage of Nov 1 is October's (Oct 2 - Nov 2).
    (date(2026, 11, 2), utc(2026, 11, 2, 10), utc(2026, 11, 1, 12), utc(2026, 10, 2), utc(2026, 11, 2), "2026-10"),
    (date(2026, 10, 2), utc(2026, 10, 2), utc(2026, 11, 1, 23, 59), utc(2026, 10, 2), utc(2026, 11, 2), "2026-10"),
    (date(2026, 10, 2), utc(2026, 10, 2), utc(2026, 11, 2), utc(2026, 11, 2), utc(2026, 12, 2), "2026-11"),
    # Anchor 31: Jan 31 - Feb 28 - Mar 31 - Apr 30; usage before the subscription starts, too.
    (date(2026, 1, 31), utc(2026, 3, 3), utc(2026, 2, 27, 23), utc(2026, 1, 31), utc(2026, 2, 28), "2026-01"),
    (date(2026, 1, 31), utc(2026, 3, 3), utc(2026, 2, 28, 1), utc(2026, 2, 28), utc(2026, 3, 31), "2026-02"),
    (date(2026, 1, 31), utc(2026, 1, 31), utc(2026, 4, 30, 0, 30), utc(2026, 4, 30), utc(2026, 5, 31), "2026-04"),
    (date(2026, 1, 31), utc(2026, 1, 31), utc(2026, 4, 29, 23), utc(2026, 3, 31), utc(2026, 4, 30), "2026-03"),
    # Anchor 30: Feb 28 in February, back to the 30th in March.
    (date(2026, 1, 30), utc(2026, 3, 5), utc(2026, 3, 1, 8), utc(2026, 2, 28), utc(2026, 3, 30), "2026-02"),
    (date(2026, 1, 30), utc(2026, 1, 30), utc(2026, 3, 30, 8), utc(2026, 3, 30), utc(2026, 4, 30), "2026-03"),
    # Anchor 29: Feb 28 in a common year; Nov 29 - Dec 29.
    (date(2025, 12, 29), utc(2026, 2, 20), utc(2026, 2, 28, 0, 0), utc(2026, 2, 28), utc(2026, 3, 29), "2026-02"),
    (date(2025, 12, 29), utc(2026, 2, 20), utc(2026, 2, 27, 23, 59), utc(2026, 1, 29), utc(2026, 2, 28), "2026-01"),
    (date(2026, 11, 29), utc(2026, 11, 29, 6), utc(2026, 11, 28, 23), utc(2026, 10, 29), utc(2026, 11, 29), "2026-10"),
    # Periods start at midnight: 05:00 on the anchor day, before a subscription starting at 06:00, is the new one's.
    (date(2026, 11, 29), utc(2026, 11, 29, 6), utc(2026, 11, 29, 5), utc(2026, 11, 29), utc(2026, 12, 29), "2026-11"),
]


@pytest.mark.parametrize(("anchor", "effective", "at", "start", "end", "key"), CASES)
def test_live_period_follows_the_account_anchor(
    anchor: date, effective: datetime, at: datetime, start: datetime, end: datetime, key: str
) -> None:
    registry = SubscriptionRegistry()
    registry.apply([sub("u1", anchor, effective), sub("o1", anchor, effective, "org")])
    resolver = Resolver(registry, CATALOG)
    for org in (None, "o1"):  # before the organization's subscription starts its member pays: same anchor
        r = resolver.resolve(org, "u1", epoch_ms(at))
        assert (r.period, r.period_start_ms, r.period_end_ms) == (key, epoch_ms(start), epoch_ms(end))
    ev = AcceptedEvent(
        event_id="e1",
        ts_ms=epoch_ms(at),
        user_id="u1",
        org_id=None,
        metric="api_calls",
        quantity=1,
        source="test",
        properties={},
        account_id="u1",
    )
    out = rate_batch([ev], {"u1": None}, resolver, at)
    lines = [orjson.loads(r) for r in out.rated]  # the API calls' line (and its user's seat line, if any)
    assert {(ln["period"], ln["period_start_ms"]) for ln in lines} == {(key, epoch_ms(start))}
    assert f"u1|{key}|api_calls" in out.states["u1"]
    assert {k.split("|")[1] for k in out.states["u1"]} == {key}
