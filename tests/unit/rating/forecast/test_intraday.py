"""The day in progress (rating.forecast.intraday), worked by hand."""

from __future__ import annotations

import pytest

from rating.forecast.intraday import day_profile, share_before, with_today
from rating.forecast.method import Z80, QuantityForecast

# Ten days of 100 so far, twenty to come at 100 a day: 3,000 expected, an sd of 200.
WHOLE = QuantityForecast(1000.0, 3000.0, 3000.0 - Z80 * 200, 3000.0 + Z80 * 200, 20)
TODAY = QuantityForecast(1000.0, 1100.0, 1050.0, 1150.0, 1)  # today alone: 100 expected


def test_a_profile_is_the_share_of_the_day_before_each_hour() -> None:
    at_ten = [0.0] * 24
    at_ten[10] = 480.0
    p = day_profile(at_ten)
    assert (p[0], p[10], p[11], p[24]) == (0.0, 0.0, 1.0, 1.0)
    assert share_before(p, 10.5) == pytest.approx(0.5)  # half of the tenth hour
    assert share_before(p, 30) == 1.0
    # Too little usage to trust a shape (under 48): the hours count alike.
    few = [0.0] * 24
    few[3] = 10.0
    assert share_before(day_profile(few), 6) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        day_profile([1.0] * 23)


def test_settled_hours_and_live_counts_replace_what_the_model_expected_of_them() -> None:
    # 30 settled today, 20 counted live after the watermark, half the day's usage before the live count's end:
    # the rest of today is 100 x 0.5 = 50, the days after 2,000 - 100 = 1,900.
    f = with_today(WHOLE, TODAY, 30.0, 20.0, 0.5)
    assert f.to_date == 1030.0  # what is invoiced so far: the settled usage (not the live count)
    assert f.expected == pytest.approx(1030.0 + 20.0 + 50.0 + 1900.0)
    # Still unknown: 1,950 of the 2,000 the whole-day forecast had ahead: the sd is 200 x 0.975.
    sd = 200 * 1950 / 2000
    assert f.p90 == pytest.approx(3000.0 + Z80 * sd)
    assert f.p10 == pytest.approx(3000.0 - Z80 * sd)
    assert f.remaining_days == 20


def test_a_busier_day_than_expected_moves_the_forecast_up() -> None:
    # 150 already settled by the time the profile expects 60 % of the day: the day ends at 150 + 40.
    f = with_today(WHOLE, TODAY, 150.0, 0.0, 0.6)
    assert f.expected == pytest.approx(1000.0 + 150.0 + 40.0 + 1900.0)
    assert f.p10 >= 1150.0  # never below what is known


def test_at_midnight_it_is_the_whole_day_forecast() -> None:
    f = with_today(WHOLE, TODAY, 0.0, 0.0, 0.0)
    assert (f.to_date, f.expected) == (WHOLE.to_date, pytest.approx(WHOLE.expected))
    assert (f.p10, f.p90) == (pytest.approx(WHOLE.p10), pytest.approx(WHOLE.p90))


def test_a_stopped_account_and_a_finished_period() -> None:
    stopped = QuantityForecast(1000.0, 1000.0, 1000.0, 1060.0, 20)
    f = with_today(stopped, QuantityForecast(1000.0, 1000.0, 1000.0, 1000.0, 1), 5.0, 0.0, 0.3)
    assert (f.to_date, f.expected) == (1005.0, 1005.0)  # what came today counts; nothing more expected
    done = QuantityForecast(1000.0, 1000.0, 1000.0, 1000.0, 0)
    assert with_today(done, done, 0.0, 0.0, 0.0) is done
