"""The fast path's records from templates (streams/live/records.py) against the dicts ``rate_batch`` encodes:
every tier's rules, quantities at and around their included quotas and hard caps, extras, odd exponents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.catalog.loader import load_catalog
from rating.money import fixed_text
from rating.quota import quota_record
from rating.subscriptions import SubscriptionVersion
from streams.live.rating import rated_line
from streams.live.records import Templates
from streams.live.resolve import Resolved, Resolver
from streams.subscriptions.registry import SubscriptionRegistry

D = Decimal
NOW = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
CATALOG = load_catalog()
TIERS = ["free", "standard", "enterprise"]
METRICS = ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]


def terms(tier: str) -> Resolved:
    registry = SubscriptionRegistry()
    registry.apply(
        [
            SubscriptionVersion(
                account_id="acct_1",
                account_kind="org",
                tier=tier,
                anchor=date(2026, 10, 3),
                effective_from=NOW - timedelta(days=60),
                version=3,
            )
        ]
    )
    r = Resolver(registry, CATALOG).at("acct_1", True, int(NOW.timestamp() * 1000))
    assert r is not None
    return r


TERMS = {tier: terms(tier) for tier in TIERS}


def points(t: Resolved, metric: str) -> list[Decimal]:
    """Quantities around the rule's limits: below, at, just past, far past; exponents of every kind."""
    rule = t.rule(metric)
    out = [D(0), D("0.000"), D("1E+1"), D("1.50"), D("-2.5")]
    for limit in (rule.included, rule.hard_cap, rule.fair_use_alert):
        if limit is not None:
            out += [limit, limit - 1, limit + D("0.001"), limit * 3, D(f"{limit}.00")]
    return out


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("metric", METRICS)
def test_quota_records_are_those_of_quota_record(tier: str, metric: str) -> None:
    t, at = TERMS[tier], NOW.isoformat()
    rule = t.rule(metric)
    templates, other = Templates(at), replace(t, billed="acct_2")
    for tid, terms_ in enumerate((t, other)):
        tpl = templates.of(tid, terms_, metric, rule, t.tier.rate_limit_per_minute)
        for used in points(t, metric):
            want = quota_record(terms_.billed, metric, t.period, rule, t.tier.rate_limit_per_minute, used, at)
            assert Templates.quota_record(tpl, used) == orjson.dumps(want), used


@given(
    st.sampled_from(TIERS),
    st.sampled_from(METRICS),
    st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=None), min_size=6, max_size=6),
    st.sampled_from([{}, {"ai_cost_to_date": "0.0180"}, {"time_weighted_average": "0.87942467741935483870967"}]),
)
def test_rated_lines_are_those_of_the_reference_dict(
    tier: str, metric: str, numbers: list[Decimal], extra: dict[str, Any]
) -> None:
    t, at = TERMS[tier], NOW.isoformat()
    templates = Templates(at)
    tpl = templates.of(5, t, metric, t.rule(metric), t.tier.rate_limit_per_minute)
    # Another account on the same terms shares the rest of the template: its own name in it.
    other = replace(t, billed="acct_2")
    tpl2 = templates.of(6, other, metric, other.rule(metric), other.tier.rate_limit_per_minute)
    for terms_, template in ((t, tpl), (other, tpl2)):
        got = Templates.rated_line(template, fixed_text(numbers[0]), fixed_text(numbers[1]), *numbers[2:], extra)
        assert got == rated_line(terms_, metric, at, *numbers, extra)
