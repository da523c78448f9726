"""Budget alerts into the notification outboxes: an email notice and a ``budget.alert`` webhook event per
crossing, idempotent by ``budget_alert_key`` (once per account, period and kind; docs/forecasting.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from rating.forecast.budgets import budget_alert_key, budget_crossings
from rating.money import money_text
from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.store.models import Organization

KIND_TEXT = {"forecast": "is forecast to pass", "actual": "has passed"}


def enqueue_budget_alerts(
    s: Session, account: str, period_key: str, budget: Decimal, forecast: dict[str, Any], now: datetime
) -> list[str]:
    """The alerts of ``forecast`` (a ``GET /api/billing/forecast`` document) against ``budget``; returns the
    keys of the notices that are new."""
    total = forecast["total"]
    new = []
    for c in budget_crossings(budget, Decimal(total["expected"]), Decimal(total["to_date"])):
        key = budget_alert_key(account, period_key, c.kind)
        context = {
            "account_id": account,
            "period": period_key,
            "alert": c.kind,
            "kind_text": KIND_TEXT[c.kind],
            "budget": money_text(c.budget),
            "amount": money_text(c.amount),
            "currency": forecast.get("currency", "usd").upper(),
        }
        if enqueue_notice(s, "budget_alert", account, key, context, now):
            new.append(key)
        if s.get(Organization, account) is not None:
            enqueue_event(s, account, "budget.alert", key, context, now)
    return new
