"""The live rating step (``rate_batch``) without Kafka: batching, order, tier changes and alerts.

The agent hands ``rate_batch`` the table entries of a batch's accounts and stores the entries it
returns; these tests do the same with a dict (through JSON, as the table does).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.aggregation import GaugeState, Sample
from rating.catalog.loader import load_catalog
from rating.live.gauge import FOLD_AT, fold_readings
from rating.subscriptions import SubscriptionVersion
from schemas.events import AcceptedEvent, epoch_ms
from streams.live.rating import LiveOutputs, rate_batch
from streams.live.resolve import Resolver
from streams.subscriptions.registry import SubscriptionRegistry

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 20, tzinfo=UTC)
CATALOG = load_catalog()


def version(account: str, tier: str, at: datetime, n: int, kind: str = "user") -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id=account, account_kind=kind, tier=tier, anchor=date(2026, 11, 1), effective_from=at, version=n
    )


def event(
    i: int, user: str, metric: str, at: datetime, qty: int = 1, org: str | None = None, **props: Any
) -> AcceptedEvent:
    return AcceptedEvent(
        event_id=f"e{i}",
        ts_ms=epoch_ms(at),
        user_id=user,
        org_id=org,
        metric=metric,
        quantity=D(qty),
        source="test",
        properties=props,
        account_id=org or user,
    )


class Live:
    """The table as the agent keeps it: one JSON entry per routing account."""

    def __init__(self, *versions: SubscriptionVersion) -> None:
        self.registry = SubscriptionRegistry()
        self.registry.apply(list(versions))
        self.resolver = Resolver(self.registry, CATALOG)
        self.table: dict[str, bytes] = {}
        self.outputs: list[LiveOutputs] = []

    def rate(self, events: list[AcceptedEvent]) -> LiveOutputs:
        states = {
            e.account_id: orjson.loads(self.table[e.account_id]) if e.account_id in self.table else None for e in events
        }
        out = rate_batch(events, states, self.resolver, NOW)
        for account, entry in out.states.items():
            self.table[account] = orjson.dumps(entry)
        self.outputs.append(out)
        return out

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(r) for o in self.outputs for r in o.rated]

    def alerts(self) -> Counter[tuple[str, str, str]]:
        return Counter((a.account_id, a.metric, a.kind) for o in self.outputs for a in o.alerts)

    def used(self, account: str, slot: str) -> Decimal:
        return D(orjson.loads(self.table[account])[slot]["used"])


def mixed_events(n: int, rng: random.Random) -> list[AcceptedEvent]:
    out = []
    for i in range(n):
        user = f"u{rng.randrange(6)}"
        org = "o1" if rng.random() < 0.4 else None
        metric = rng.choice(["api_calls", "ai_requests", "premium_feature", "active_user", "storage_gb"])
        at = T0 + timedelta(minutes=rng.randrange(19 * 24 * 60))
        props: dict[str, Any] = {}
        if metric == "ai_requests":
            props = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100}
        if metric == "premium_feature":
            props = {"feature": rng.choice(["sso", "audit_log"])}
        out.append(event(i, user, metric, at, rng.randrange(1, 4000), org, **props))
    return out


def subscriptions() -> list[SubscriptionVersion]:
    return [
        version("o1", "enterprise", T0, 1, "org"),
        version("u0", "free", T0, 1),
        version("u1", "standard", T0, 1),
        version("u2", "free", T0, 1),
        version("u2", "standard", T0 + timedelta(days=9, hours=5, minutes=17), 2),  # upgrade mid-hour
        version("u3", "standard", T0, 1),
        version("u3", "free", T0 + timedelta(days=12), 2),  # downgrade
    ]


def totals(live: Live) -> tuple[dict[str, Any], Counter[tuple[str, str, str]], dict[tuple[str, str], Decimal]]:
    """What must not depend on batching: final state, alerts raised, summed quantities and amounts."""
    state = {k: orjson.loads(v) for k, v in live.table.items()}
    for entry in state.values():
        for slot in entry.values():
            slot.pop("prev_twa", None)
            slot.pop("alerted", None)  # the order of raising may differ; the alerts are compared below
    sums: dict[tuple[str, str], Decimal] = {}
    for line in live.lines():
        for f in ("quantity", "amount"):
            k = (f"{line['account_id']}|{line['metric']}", f)
            sums[k] = sums.get(k, D(0)) + D(line[f])
    return state, live.alerts(), sums


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_split_and_order_gives_the_same_state_alerts_and_sums(rng: random.Random, parts: int) -> None:
    events = mixed_events(120, random.Random(3))
    whole = Live(*subscriptions())
    whole.rate(events)

    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(events)), parts - 1)) if parts > 1 else []
    split = Live(*subscriptions())
    for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True):
        split.rate(shuffled[a:b])

    w_state, w_alerts, w_sums = totals(whole)
    s_state, s_alerts, s_sums = totals(split)
    assert s_state == w_state

    # Counts only grow, so their alerts never depend on batching. A gauge's depend on the order of readings,
    # and across a tier change on which side of it the earlier-arriving usage fell (u2, u3).
    def steady(alerts: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
        return Counter({k: v for k, v in alerts.items() if k[1] != "storage_gb" and k[0] not in {"u2", "u3"}})

    assert steady(s_alerts) == steady(w_alerts)
    for k, v in w_sums.items():
        if "storage_gb" not in k[0] and "active_user" not in k[0]:
            assert s_sums[k] == v, k


def test_a_mid_batch_upgrade_rates_each_side_under_its_own_terms_and_keeps_counting() -> None:
    upgrade = T0 + timedelta(days=3, hours=10, minutes=30)
    live = Live(version("u9", "free", T0, 1), version("u9", "standard", upgrade, 2))
    before = [event(i, "u9", "api_calls", upgrade - timedelta(minutes=20 - i), 1000) for i in range(9)]  # 9,000
    after = [event(100 + i, "u9", "api_calls", upgrade + timedelta(minutes=i), 1000) for i in range(5)]  # 5,000
    batch = after + before
    random.Random(1).shuffle(batch)
    out = live.rate(batch)

    calls = [x for x in live.lines() if x["metric"] == "api_calls"]  # the other line: u9's seat
    lines = sorted(calls, key=lambda x: x["subscription_version"])
    assert [(x["subscription_version"], x["tier"], x["quantity"], x["period_to_date"]) for x in lines] == [
        (1, "free", "9000", "9000"),
        (2, "standard", "5000", "14000"),  # the counter carries on across the change
    ]
    assert all(D(x["amount"]) == 0 for x in lines)  # 14,000 is inside standard's 100,000
    # Under free, 9,000 of 10,000 crossed 80 %; under standard 14,000 is far from any threshold.
    assert [(a.kind, a.threshold) for a in out.alerts] == [("quota_80", D("8000.0"))]
    quota = [q for q in out.quotas if q.metric == "api_calls"][-1]
    assert quota.included == D(100_000) and quota.used == D(14_000)


def test_after_a_downgrade_the_lower_quota_alerts_once() -> None:
    down = T0 + timedelta(days=12)
    live = Live(version("u3", "standard", T0, 1), version("u3", "free", down, 2))
    live.rate([event(1, "u3", "api_calls", down - timedelta(days=1), 50_000)])
    assert live.alerts() == Counter()  # 50 % of standard's 100,000
    live.rate([event(2, "u3", "api_calls", down + timedelta(hours=1), 1)])
    # Free includes 10,000 with a hard cap at 10,000: already passed, so each is raised once now.
    assert live.alerts() == Counter(
        {("u3", "api_calls", "quota_80"): 1, ("u3", "api_calls", "quota_100"): 1, ("u3", "api_calls", "hard_cap"): 1}
    )
    live.rate([event(3, "u3", "api_calls", down + timedelta(hours=2), 5)])
    assert sum(live.alerts().values()) == 3  # not again in the same period
    assert live.used("u3", "u3|2026-11|api_calls") == D(50_006)


def test_a_version_put_later_makes_the_cached_terms_stale() -> None:
    live = Live(version("u5", "free", T0, 1))
    at = T0 + timedelta(days=2, hours=3)
    live.rate([event(1, "u5", "api_calls", at)])
    live.registry.apply([version("u5", "standard", T0 + timedelta(days=1), 2)])
    live.rate([event(2, "u5", "api_calls", at + timedelta(minutes=1))])
    assert [x["tier"] for x in live.lines() if x["metric"] == "api_calls"] == ["free", "standard"]


def test_an_org_member_is_billed_to_the_org_and_seats_count_distinct_users() -> None:
    live = Live(version("o7", "enterprise", T0, 1, "org"))
    at = T0 + timedelta(days=1)
    live.rate([event(i, f"u{i % 3}", "active_user", at + timedelta(hours=i), org="o7") for i in range(7)])
    live.rate([event(9, "u1", "active_user", at + timedelta(hours=9), org="o7")])
    assert live.used("o7", "o7|2026-11|active_user") == D(3)
    assert {x["account_id"] for x in live.lines()} == {"o7"}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=200), st.randoms(use_true_random=False))
def test_folded_gauge_keeps_the_exact_average_of_readings_in_time_order(values: list[int], rng: random.Random) -> None:
    start, end = 0, 30 * 86_400_000
    readings = [Sample(h * 3_600_000, f"r{h}", D(v)) for h, v in enumerate(values)]
    slot: dict[str, Any] = {}
    i = 0
    while i < len(readings):  # arriving in time order, in batches of any size
        n = rng.randint(1, 20)
        held, twa = fold_readings(slot, readings[i : i + n], start, end)
        i += n
    exact = GaugeState(D(0), tuple(readings)).time_weighted_average(start, end)
    assert abs(twa - exact) < D("1e-12")
    assert held == readings[-1].value
    assert len(slot["samples"]) < FOLD_AT  # bounded, however many readings came


def test_an_entry_drops_the_slots_of_periods_that_can_no_longer_take_usage() -> None:
    live = Live(version("u8", "standard", T0 - timedelta(days=200), 1))
    metrics = ["api_calls", "ai_requests", "premium_feature", "active_user", "storage_gb"]
    # Periods that ended in June and July: settled long ago.
    old = {f"u8|{p}|{m}": {"used": "5"} for p in ("2026-05", "2026-06") for m in metrics}
    last = {f"u8|2026-10|{m}": {"used": "7"} for m in metrics}  # late usage may still arrive
    live.table["u8"] = orjson.dumps({**old, **last})
    live.rate([event(1, "u8", "api_calls", NOW - timedelta(hours=1))])
    assert sorted(k.split("|")[1] for k in orjson.loads(live.table["u8"])) == ["2026-10"] * 5 + ["2026-11"] * 2
