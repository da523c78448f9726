"""Seats (issue 19, defect 1; docs/rating.md): a seat is a distinct user with any usage event billed
to the organization in the period, heartbeats or not. Settlement's pure part and the live view, with
hand-worked counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson

from rating.aggregation import GaugeState
from rating.catalog.loader import load_catalog
from rating.invoice import billing_segments, preview_invoice
from rating.periods import period_containing
from rating.settle import HourlyUsage, rated_lines, usage_by_segment
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from schemas.events import AcceptedEvent, epoch_ms
from streams.live.rating import rate_batch
from streams.live.resolve import Resolver
from streams.subscriptions.registry import SubscriptionRegistry

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)
CATALOG = load_catalog()
PERIOD = period_containing(date(2026, 11, 1), T0)


def version(account: str, tier: str, at: datetime, n: int) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id=account, account_kind="org", tier=tier, anchor=date(2026, 11, 1), effective_from=at, version=n
    )


def row(user: str, metric: str, hour: datetime, v: int, tier: str, events: int = 1) -> HourlyUsage:
    return HourlyUsage("org", "org", user, metric, "", hour, v, tier, D(events), events)


def seat_line(history: SubscriptionHistory, rows: list[HourlyUsage]) -> tuple[str, str] | None:
    cat = CATALOG.at(PERIOD.start)
    segments = billing_segments(history, PERIOD, cat)
    inv = preview_invoice(history, usage_by_segment(rows, segments, GaugeState()), PERIOD, cat)
    return next(((str(ln.quantity), str(ln.amount)) for ln in inv.lines if ln.code == "seats"), None)


def test_users_without_heartbeats_are_seats() -> None:
    ent = SubscriptionHistory("org", [version("org", "enterprise", T0, 1)])
    h = T0 + timedelta(days=3)
    calls_only = [row(f"u{i}", "api_calls", h, 1, "enterprise") for i in range(150)]
    assert seat_line(ent, calls_only) == ("150", "6000.00")  # 150 x $40
    mixed = [row(f"u{i}", "api_calls", h, 1, "enterprise") for i in range(101)]
    mixed += [row(f"u{i}", "active_user", h, 1, "enterprise") for i in range(100)]
    assert seat_line(ent, mixed) == ("101", "4040.00")  # 101 x $40, not 100 x $50
    assert seat_line(ent, [row("solo", "premium_feature", h, 1, "enterprise")]) == ("1", "50.00")
    # A retracted row (no events left) is no usage: no seat.
    assert seat_line(ent, [row("gone", "api_calls", h, 1, "enterprise", events=0)]) is None


def test_settled_seat_lines_add_up_to_the_period_seats_across_versions() -> None:
    history = SubscriptionHistory(
        "org", [version("org", "standard", T0, 1), version("org", "enterprise", T0 + timedelta(days=10), 2)]
    )
    h1, h2 = T0 + timedelta(days=2), T0 + timedelta(days=12)
    rows = [
        row("a", "api_calls", h1, 1, "standard"),
        row("b", "active_user", h1, 1, "standard"),
        row("a", "api_calls", h2, 2, "enterprise"),  # already a seat
        row("c", "storage_gb", h2, 2, "enterprise"),
        row("d", "api_calls", h2, 2, "enterprise", events=0),  # retracted
    ]
    segments = billing_segments(history, PERIOD, CATALOG.at(PERIOD.start))
    lines = [ln for ln in rated_lines("org", PERIOD, rows, segments, CATALOG) if ln.metric == "active_user"]
    # One line per version, dated at the period start: a and b first seen under 1, c under 2.
    assert [(ln.sub_version, ln.hour, ln.quantity, ln.period_to_date) for ln in lines] == [
        (1, PERIOD.start, D(2), D(2)),
        (2, PERIOD.start, D(1), D(3)),
    ]
    # The invoice prices the seats of the enterprise stretch only: a and c.
    cat = CATALOG.at(PERIOD.start)
    inv = preview_invoice(history, usage_by_segment(rows, segments, GaugeState()), PERIOD, cat)
    assert [(ln.quantity, ln.amount) for ln in inv.lines if ln.code == "seats"] == [(D(2), D("100.00"))]


def event(i: int, user: str, metric: str, at: datetime, org: str) -> AcceptedEvent:
    props = {"feature": "document_analysis"} if metric == "premium_feature" else {}
    return AcceptedEvent(
        event_id=f"e{i}",
        ts_ms=epoch_ms(at),
        user_id=user,
        org_id=org,
        metric=metric,
        quantity=D(1),
        source="test",
        properties=props,
        account_id=org,
    )


def test_the_live_view_counts_every_user_with_usage_as_a_seat() -> None:
    registry = SubscriptionRegistry()
    registry.apply([version("o1", "enterprise", T0, 1), version("o2", "enterprise", T0, 1)])
    resolver = Resolver(registry, CATALOG)
    at = T0 + timedelta(days=4)
    events = [event(i, f"x{i}", "api_calls", at, "o1") for i in range(101)]
    events += [event(1000 + i, f"x{i}", "active_user", at, "o1") for i in range(100)]
    events.append(event(5000, "solo", "premium_feature", at, "o2"))
    state: dict[str, bytes] = {}
    rated: list[dict[str, object]] = []
    for part in (events[:150], events[150:]):  # two batches: seats already counted are not counted again
        out = rate_batch(part, {a: orjson.loads(state[a]) if a in state else None for a in ("o1", "o2")}, resolver, T0)
        state.update({a: orjson.dumps(e) for a, e in out.states.items()})
        rated += [orjson.loads(r) for r in out.rated]
    assert D(orjson.loads(state["o1"])["o1|2026-11|active_user"]["used"]) == 101
    assert D(orjson.loads(state["o2"])["o2|2026-11|active_user"]["used"]) == 1
    seats: dict[object, Decimal] = {}
    for x in rated:
        if x["metric"] == "active_user":
            seats[x["account_id"]] = seats.get(x["account_id"], D(0)) + D(str(x["quantity"]))
    assert seats == {"o1": 101, "o2": 1}  # the provisional seat lines add up to the seats
