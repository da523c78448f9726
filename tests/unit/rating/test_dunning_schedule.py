"""The dunning schedule (rating/dunning.py), worked by hand from the rule: retries on days 1, 3, 5 and 7
after a failure, unpaid at the last; reminders 3 days before and 1, 7, 14 days after a due date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rating.dunning import DunningSchedule, parse_days

FAILED = datetime(2026, 5, 10, 14, 30, tzinfo=UTC)
S = DunningSchedule()


def test_retries_come_on_their_days_and_the_last_is_the_grace() -> None:
    assert S.grace == timedelta(days=7)
    assert S.steps_due(FAILED, FAILED + timedelta(hours=23)) == []
    assert S.steps_due(FAILED, FAILED + timedelta(days=1)) == [1]
    assert S.steps_due(FAILED, FAILED + timedelta(days=4)) == [1, 2]
    assert S.steps_due(FAILED, FAILED + timedelta(days=30)) == [1, 2, 3, 4]
    assert S.next_retry(FAILED, FAILED + timedelta(days=1)) == datetime(2026, 5, 13, 14, 30, tzinfo=UTC)
    assert S.next_retry(FAILED, FAILED + timedelta(days=7)) is None
    assert not S.exhausted(FAILED, FAILED + timedelta(days=6, hours=23))
    assert S.exhausted(FAILED, FAILED + timedelta(days=7))


def test_one_reminder_at_a_time_before_and_after_the_due_date() -> None:
    due = date(2026, 6, 30)
    assert S.reminder_due(due, date(2026, 6, 26)) is None
    assert S.reminder_due(due, date(2026, 6, 27)) == -3
    assert S.reminder_due(due, date(2026, 7, 1)) == 1
    assert S.reminder_due(due, date(2026, 7, 20)) == 14  # only the latest, not a backlog of four
    assert not S.past_due_from_overdue(due, date(2026, 7, 30))  # 30 days overdue: the limit, not past it
    assert S.past_due_from_overdue(due, date(2026, 7, 31))


def test_days_are_parsed_sorted_and_checked() -> None:
    assert parse_days("7, 1,3,3") == (1, 3, 7)
    assert parse_days("-3,1", allow_negative=True) == (-3, 1)
    for bad in ("", "0,2", "one", "-1"):
        with pytest.raises(ValueError):
            parse_days(bad)
