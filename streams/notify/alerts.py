"""Usage alerts to people and systems: a consumer of ``usage.alerts`` that writes, for each alert, an email
notice and a ``usage.alert`` webhook event into the outboxes, idempotently by the alert's key (an alert is
raised once per account, metric, period and kind; a redelivered record adds nothing). Offsets are committed
after the rows, so a crash re-reads, never loses (docs/notifications.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from sqlalchemy.orm import Session, sessionmaker

from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.store.models import Organization

log = logging.getLogger(__name__)

LEVEL_TEXT = {
    "quota_80": "reached 80 % of the included quota",
    "quota_100": "reached 100 % of the included quota",
    "hard_cap": "reached its hard cap",
    "fair_use": "exceeded the fair-use limit",
    "not_entitled": "is not included in the plan (entitlement violation)",
    "credit_low": "fell below 20 % of the prepaid credit granted",  # metric credit:<grant> (streams/store/credits.py)
}


def alert_key(doc: dict[str, Any]) -> str:
    return f"usage_alert:{doc['account_id']}:{doc['metric']}:{doc['period']}:{doc['kind']}"


def enqueue_alert(s: Session, doc: dict[str, Any], now: datetime) -> bool:
    """The notice and webhook event of one alert record (``streams.live.agent``'s JSON); returns whether
    the notice is new."""
    key = alert_key(doc)
    account = str(doc["account_id"])
    context = {
        "metric": doc["metric"],
        "period_start": doc["period"],
        "alert": doc["kind"],
        "level_text": LEVEL_TEXT.get(str(doc["kind"]), str(doc["kind"])),
        "used": doc.get("used"),
        "included": doc.get("threshold") if doc["kind"] == "quota_100" else None,
        "threshold": doc.get("threshold"),
        "at": doc.get("at"),
    }
    added = enqueue_notice(s, "usage_alert", account, key, context, now)
    if s.get(Organization, account) is not None:
        enqueue_event(s, account, "usage.alert", key, {"account_id": account, **context}, now)
    return added


async def follow_alerts(
    bootstrap: str,
    topic: str,
    group: str,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    wake: Callable[[], None] = lambda: None,
) -> None:
    """Consume ``topic`` until ``stop``; each batch is written in one transaction, then its offsets committed."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            docs = [orjson.loads(r.value) for recs in batches.values() for r in recs if r.value]
            if docs:
                await asyncio.to_thread(_write, sessions, docs, clock())
                wake()
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


def _write(sessions: sessionmaker[Session], docs: list[dict[str, Any]], now: datetime) -> None:
    with sessions.begin() as s:
        for doc in docs:
            try:
                enqueue_alert(s, doc, now)
            except (KeyError, TypeError) as exc:  # a malformed record is skipped, not retried forever
                log.warning("usage.alerts: skipped a malformed alert %r: %s", doc, exc)
