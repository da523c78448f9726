"""The AI mix's models split the account's AI requests forecast (rating.forecast.shares), worked by hand."""

from __future__ import annotations

import pytest

from rating.forecast.method import HALF_LIFE, QuantityForecast
from rating.forecast.shares import recent_shares, split_forecast


def test_steady_shares_are_the_ratio_of_the_sums() -> None:
    # 30 and 10 requests every day: 3/4 and 1/4, whatever the weights.
    shares = recent_shares({"openai/gpt": [30.0] * 20, "anthropic/claude": [10.0] * 20})
    assert shares == pytest.approx({"openai/gpt": 0.75, "anthropic/claude": 0.25})


def test_recent_days_weigh_more() -> None:
    # Two days: model a used 10 the day before, model b 10 on the last day. The last day weighs 1, the one
    # before 0.5 ** (1 / HALF_LIFE): a's share is w / (w + 1).
    w = 0.5 ** (1 / HALF_LIFE)
    shares = recent_shares({"a": [10.0, 0.0], "b": [0.0, 10.0]})
    assert shares["a"] == pytest.approx(w / (w + 1))
    assert shares["b"] == pytest.approx(1 / (w + 1))
    assert sum(shares.values()) == pytest.approx(1.0)


def test_a_model_no_longer_used_gets_no_share() -> None:
    # b ran 10 days, then five zero days (its longest zero run): it was dropped; a carries everything.
    shares = recent_shares({"a": [5.0] * 15, "b": [5.0] * 10 + [0.0] * 5})
    assert shares == {"a": 1.0, "b": 0.0}
    # A shorter series is padded in front (no usage before it).
    assert recent_shares({"a": [4.0, 4.0], "b": [4.0]}) == pytest.approx({"a": 2 / 3, "b": 1 / 3}, rel=0.01)
    assert recent_shares({}) == {}


def test_the_models_sum_to_the_accounts_total() -> None:
    # The account's AI requests: 1,000 so far, 3,000 expected, 2,400 to 3,800. Model a used 700 so far, b 300;
    # shares 0.6 / 0.4 of the 2,000 remaining: a 700 + 1,200 = 1,900, b 300 + 800 = 1,100.
    total = QuantityForecast(1000.0, 3000.0, 2400.0, 3800.0, 10)
    split = split_forecast(total, {"a": 700.0, "b": 300.0}, {"a": 0.6, "b": 0.4})
    assert split["a"] == QuantityForecast(700.0, 1900.0, 700.0 + 0.6 * 1400, 700.0 + 0.6 * 2800, 10)
    assert split["b"].expected == pytest.approx(1100.0)
    assert sum(f.expected for f in split.values()) == pytest.approx(total.expected)
    assert sum(f.p10 for f in split.values()) == pytest.approx(total.p10)
    assert sum(f.p90 for f in split.values()) == pytest.approx(total.p90)


def test_a_dropped_model_keeps_its_usage_so_far() -> None:
    total = QuantityForecast(100.0, 200.0, 150.0, 250.0, 5)
    split = split_forecast(total, {"a": 60.0, "b": 40.0}, {"a": 1.0, "b": 0.0})
    assert split["b"] == QuantityForecast(40.0, 40.0, 40.0, 40.0, 5)
    assert split["a"].expected == 160.0
