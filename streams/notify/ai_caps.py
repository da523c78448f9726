"""AI cap alerts into the email outbox: one ``ai_cap_alert`` notice per organization, member (``*``: everyone),
period, cap and threshold (80 % and 100 %), idempotent by its key (docs/ai-controls.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rating.ai_caps import AiCap, AiUse, crossings
from rating.money import money_text, quantity_text
from streams.notify.outbox import enqueue_notice

WHAT_TEXT = {"spend": "AI spend", "requests": "AI requests"}


def ai_cap_alert_key(org: str, user_id: str, period_key: str, what: str, threshold: str) -> str:
    return f"ai_cap:{org}:{user_id}:{period_key}:{what}:{threshold}"


def enqueue_ai_cap_alerts(
    s: Session, org: str, user_id: str, period_key: str, cap: AiCap, use: AiUse, now: datetime
) -> list[str]:
    """The notices of every threshold ``use`` has crossed of ``cap``; returns the keys that are new."""
    new = []
    for c in crossings(cap, use):
        key = ai_cap_alert_key(org, user_id, period_key, c.what, c.threshold)
        spend = c.what == "spend"
        context = {
            "account_id": org,
            "member": "everyone" if user_id == "*" else user_id,
            "period": period_key,
            "what_text": WHAT_TEXT[c.what],
            "threshold": c.threshold,
            "used": money_text(c.used) if spend else quantity_text(c.used),
            "cap": money_text(c.cap) if spend else quantity_text(c.cap),
            "unit": "USD" if spend else "requests",
            "hard": cap.hard,
        }
        if enqueue_notice(s, "ai_cap_alert", org, key, context, now):
            new.append(key)
    return new
