"""Aggregation states, quota state, alerts, rated deltas and AI costs: pure rules of the live stage."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rating.aggregation import GaugeState, Sample
from rating.ai_costs import ai_request_cost
from rating.catalog.loader import load_catalog
from rating.catalog.model import MeteredRule
from rating.pricing import metric_charge
from rating.quota import new_alerts, quota_state, rate_delta

D = Decimal
CAT = load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))
AT = datetime(2026, 11, 10, tzinfo=UTC)
DAY = 86_400_000

samples_st = st.lists(
    st.builds(
        Sample,
        st.integers(0, 30 * DAY),
        st.text("abc", min_size=1, max_size=4),
        st.integers(0, 500).map(D),
        st.sampled_from(["u1", "u2", "u3", "u4"]),
    ),
    max_size=30,
)


@given(samples_st, st.randoms(use_true_random=False), st.integers(1, 5))
def test_any_split_and_order_gives_the_same_state(samples: list[Sample], rnd: random.Random, parts: int) -> None:
    shuffled = samples[:]
    rnd.shuffle(shuffled)
    chunks = [shuffled[i::parts] for i in range(parts)]
    whole = GaugeState().add(samples)
    split = GaugeState()
    for c in chunks:
        split = split.merge(GaugeState().add(c))
    assert whole.time_weighted_average(0, 30 * DAY) == split.time_weighted_average(0, 30 * DAY)


def test_time_weighted_average_by_hand() -> None:
    # Carried in 40 GB; 80 GB from day 15 of a 30-day period: (40 x 15 + 80 x 15) / 30 = 60.
    g = GaugeState(carried_in=D(40)).add([Sample(15 * DAY, "s1", D(80))])
    assert g.time_weighted_average(0, 30 * DAY) == D(60)
    # Up to day 20 only: (40 x 15 + 80 x 5) / 20 = 50.
    assert g.time_weighted_average(0, 30 * DAY, until_ms=20 * DAY) == D(50)
    assert g.last_value() == D(80)


def test_quota_state_and_alerts_standard_api_calls() -> None:
    rule = CAT.tiers["standard"].metrics["api_calls"]
    # 70k -> 85k crosses 80% (80,000); 85k -> 120k crosses 100%; nothing is raised twice.
    assert [a.kind for a in new_alerts("a", "api_calls", "2026-11", rule, D(70_000), D(85_000), AT)] == ["quota_80"]
    assert [a.kind for a in new_alerts("a", "api_calls", "2026-11", rule, D(85_000), D(120_000), AT)] == ["quota_100"]
    assert new_alerts("a", "api_calls", "2026-11", rule, D(120_000), D(130_000), AT) == []
    st_ = quota_state("a", "api_calls", "2026-11", rule, 600, D(120_000), AT)
    assert (st_.remaining, st_.over_limit, st_.hard_capped) == (D(0), True, False)
    assert st_.to_record()["used"] == "120000"


def test_free_hard_cap_and_entitlement_alerts() -> None:
    free = CAT.tiers["free"]
    kinds = [a.kind for a in new_alerts("u", "api_calls", "p", free.metrics["api_calls"], D(0), D(10_000), AT)]
    assert kinds == ["quota_80", "quota_100", "hard_cap"]
    assert quota_state("u", "api_calls", "p", free.metrics["api_calls"], 60, D(10_000), AT).hard_capped
    ai = free.metrics["ai_requests"]
    assert [a.kind for a in new_alerts("u", "ai_requests", "p", ai, D(0), D(1), AT)] == ["not_entitled"]
    assert new_alerts("u", "ai_requests", "p", ai, D(1), D(5), AT) == []


def test_fair_use_alert() -> None:
    rule = CAT.tiers["standard"].metrics["ai_requests"]
    assert [a.kind for a in new_alerts("a", "ai_requests", "p", rule, D(19_999), D(20_000), AT)] == ["fair_use"]


@given(st.lists(st.integers(0, 50_000), min_size=1, max_size=8))
def test_deltas_add_up_to_rating_the_period_at_once(batches: list[int]) -> None:
    rule = CAT.tiers["standard"].metrics["api_calls"]
    used, amount, billable = D(0), D(0), D(0)
    for b in batches:
        d = rate_delta(rule, used, used + b)
        used += b
        amount += d.amount
        billable += d.billable
        assert d.amount >= 0
    whole = rate_delta(rule, D(0), used)
    assert (amount, billable) == (whole.amount, whole.billable)


amounts = st.one_of(st.none(), st.decimals(0, 1000, places=2))


@given(
    st.booleans(),
    amounts,
    amounts,
    amounts,
    st.decimals(0, 2000, places=3),
    st.decimals(0, 2000, places=3),
)
def test_rate_delta_is_the_difference_of_two_metric_charges(
    entitled: bool, included: Decimal | None, cap: Decimal | None, price: Decimal | None, a: Decimal, b: Decimal
) -> None:
    rule = MeteredRule(entitled=entitled, included=included, hard_cap=cap, unit_price=price)
    before, after = min(a, b), max(a, b)
    d, x, y = rate_delta(rule, before, after), metric_charge(rule, before), metric_charge(rule, after)
    expected = (after - before, y.included - x.included, y.billable - x.billable, y.amount - x.amount)
    got = (d.quantity, d.included, d.billable, d.amount)
    assert got == expected
    assert [str(v) for v in got] == [str(v) for v in expected]  # the same digits, as lines print them
    assert d.unit_price == (y.unit_price if entitled else 0)


def test_ai_request_cost() -> None:
    # gpt-4o: 1,200 input x $2.50/M + 300 output x $10/M = 0.003 + 0.003 = $0.006.
    c = ai_request_cost(CAT.ai_costs, "openai", "gpt-4o", 1200, 300)
    assert (c.cost, c.priced_as, c.known) == (D("0.006"), "openai/gpt-4o", True)
    assert ai_request_cost(CAT.ai_costs, "anthropic", "claude-next", 1_000_000, 0).priced_as == "anthropic/*"
    assert ai_request_cost(CAT.ai_costs, "local", "llama-3", 10**6, 10**6).cost == 0
    unknown = ai_request_cost(CAT.ai_costs, "acme", "x", 10, 10)
    assert (unknown.cost, unknown.known) == (D(0), False)
