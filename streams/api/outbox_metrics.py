"""Gauges of the billing API's outboxes, read from the store at each scrape: how many rows wait and how old the
oldest is. A relay that stopped delivering (its loop failing, Kafka, Stripe or SMTP away) shows as an age that
only grows, whatever the cause — the input of the outbox alerts (deploy/prometheus/alerts.yml)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from streams.store.models import NoticeRow, OutboxRow, StripeOutboxRow, WebhookDeliveryRow

log = logging.getLogger(__name__)

# outbox label → (its rows' creation time, the column still empty while a row waits)
OUTBOXES: dict[str, tuple[Any, Any]] = {
    "kafka": (OutboxRow.created_at, OutboxRow.sent_at),  # subscription versions and quota-state records
    "stripe_mirror": (StripeOutboxRow.created_at, StripeOutboxRow.sent_at),
    "notices": (NoticeRow.created_at, NoticeRow.sent_at),
    "webhooks": (WebhookDeliveryRow.created_at, WebhookDeliveryRow.done_at),  # given up 24 h after its event
}


class OutboxGauges(Collector):
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions, self._clock = sessions, clock

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("meterline_api_outbox_pending", "Outbox rows not delivered yet", labels=["outbox"]),
            GaugeMetricFamily(
                "meterline_api_outbox_oldest_pending_seconds",
                "Age of the oldest outbox row not delivered yet (0: none waits)",
                labels=["outbox"],
            ),
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending, oldest = self._families()
        now = self._clock()
        try:
            with self._sessions() as s:
                for name, (created, open_) in OUTBOXES.items():
                    n, first = s.execute(select(func.count(), func.min(created)).where(open_.is_(None))).one()
                    pending.add_metric([name], n)
                    oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
        except SQLAlchemyError as exc:  # the store away: no sample (the API's other alerts say why)
            log.warning("outbox metrics: %s", exc)
            return
        yield pending
        yield oldest
