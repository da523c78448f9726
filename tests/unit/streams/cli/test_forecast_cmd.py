"""``meterline forecast backtest`` reports the method's and the baseline's errors at days 7, 15 and 25."""

from __future__ import annotations

import orjson
import pytest

from streams.cli.main import main


def test_backtest_reports_errors_coverage_and_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "backtest", "--accounts", "40", "--days", "150", "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    report = doc["report"]
    assert set(report) == {"day_7", "day_15", "day_25"}
    day15 = report["day_15"]["with_history"]
    assert day15["count"] > 50
    for key in ("mape", "median_ape", "coverage_80", "baseline_mape", "baseline_median_ape"):
        assert 0 <= day15[key] <= 1, key
    assert set(day15["by_tier"]) <= {"standard", "enterprise"}  # free totals are zero: left out
    # The forecast narrows as the period goes on.
    # (the mean: with 40 accounts about half the totals are base fees alone, forecast exactly, so the
    # median sits at 0 on either day)
    assert report["day_25"]["with_history"]["mape"] < report["day_7"]["with_history"]["mape"]
