"""The dunning schedule (docs/notifications.md, "Dunning"): when a failed payment is retried and told about,
when it gives up, and when an invoiced (net-terms) invoice is reminded about. Pure: time is passed in.

A failed charge at ``failed_at`` is retried on each of ``retry_days`` after it (Stripe's Smart Retries where
Stripe collects); each step sends a notice with the next attempt's date. The subscription is ``past_due``
while the schedule runs and ``unpaid`` at its last step (the grace), so the last retry day is the grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rating.periods import require_aware


def parse_days(text: str, *, allow_negative: bool = False) -> tuple[int, ...]:
    """``"1,3,5,7"`` → ``(1, 3, 5, 7)``: distinct, ascending whole days (negative only where allowed)."""
    try:
        days = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError as exc:
        raise ValueError(f"days must be whole numbers separated by commas, not {text!r}") from exc
    if not days:
        raise ValueError("at least one day is needed")
    if not allow_negative and days[0] < 1:
        raise ValueError(f"retry days count from the failure and start at 1, not {days[0]}")
    return days


@dataclass(frozen=True, slots=True)
class DunningSchedule:
    #: Days after a failed payment on which it is retried (and a notice sent).
    retry_days: tuple[int, ...] = (1, 3, 5, 7)
    #: Days relative to a net-terms invoice's due date on which its reminders go out (negative: before).
    reminder_days: tuple[int, ...] = (-3, 1, 7, 14)
    #: Days an invoiced account may be overdue before its subscription goes ``past_due``.
    past_due_after_days: int = 30
    #: Days before an annual plan renews that its account is told.
    renewal_notice_days: int = 30

    @property
    def grace(self) -> timedelta:
        """From the failure to ``unpaid``: the last retry day."""
        return timedelta(days=self.retry_days[-1])

    def retry_at(self, failed_at: datetime, step: int) -> datetime:
        """When retry ``step`` (1-based) of a failure at ``failed_at`` is due."""
        return require_aware(failed_at, "failed_at") + timedelta(days=self.retry_days[step - 1])

    def steps_due(self, failed_at: datetime, now: datetime) -> list[int]:
        """The retry steps (1-based) whose time has come by ``now``."""
        return [n for n in range(1, len(self.retry_days) + 1) if self.retry_at(failed_at, n) <= now]

    def next_retry(self, failed_at: datetime, now: datetime) -> datetime | None:
        """The first retry after ``now``; None once the schedule is exhausted."""
        later = [self.retry_at(failed_at, n) for n in range(1, len(self.retry_days) + 1)]
        return next((t for t in later if t > now), None)

    def exhausted(self, failed_at: datetime, now: datetime) -> bool:
        return now >= require_aware(failed_at, "failed_at") + self.grace

    def reminder_due(self, due: date, today: date) -> int | None:
        """The latest reminder offset whose day has come (one reminder, not a backlog of them); None before
        the first."""
        passed = [d for d in self.reminder_days if due + timedelta(days=d) <= today]
        return passed[-1] if passed else None

    def renewal_notice_due(self, renews_at: datetime, now: datetime) -> bool:
        """Whether the renewal at ``renews_at`` is near enough to tell (and not past)."""
        return now < renews_at <= now + timedelta(days=self.renewal_notice_days)

    def past_due_from_overdue(self, due: date, today: date) -> bool:
        """Whether an invoice due on ``due`` and still open on ``today`` puts its account ``past_due``."""
        return (today - due).days > self.past_due_after_days
