"""The entitlement decision (rating/quota.py), which the billing API's entitlement check calls."""

from __future__ import annotations

from decimal import Decimal

from rating.catalog.model import MeteredRule
from rating.quota import NOT_ENTITLED, metric_entitlement, premium_entitled


def test_a_hard_cap_blocks_at_the_cap_and_is_the_limit() -> None:
    rule = MeteredRule(included=Decimal(1000), hard_cap=Decimal(1500))
    below = metric_entitlement(rule, Decimal(1499))
    assert (below.allowed, below.limit, below.remaining, below.reason) == (True, Decimal(1500), Decimal(1), None)
    at = metric_entitlement(rule, Decimal(1500))
    assert (at.allowed, at.remaining, at.reason) == (False, Decimal(0), "hard_capped")


def test_without_a_cap_the_included_quantity_is_the_limit_and_overage_is_allowed() -> None:
    d = metric_entitlement(MeteredRule(included=Decimal(100)), Decimal(250))
    assert (d.allowed, d.limit, d.remaining, d.reason) == (True, Decimal(100), Decimal(0), None)
    unlimited = metric_entitlement(MeteredRule(), Decimal(5))
    assert (unlimited.allowed, unlimited.limit, unlimited.remaining) == (True, None, None)


def test_a_metric_not_entitled_is_refused_whatever_the_usage() -> None:
    d = metric_entitlement(NOT_ENTITLED, Decimal(0))
    assert (d.allowed, d.reason) == (False, "not_entitled")


def test_a_premium_feature_needs_the_rule_and_the_feature() -> None:
    rule = MeteredRule(per_feature={"sso": Decimal("0.5")})
    assert premium_entitled(rule, "sso")
    assert not premium_entitled(rule, "audit_log")
    assert not premium_entitled(NOT_ENTITLED, "sso")
