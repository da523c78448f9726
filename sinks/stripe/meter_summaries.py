"""Reading Stripe's meter event summaries: what Stripe holds per customer and meter in a span."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

import stripe


class MeterSummaries(Protocol):
    def total(self, customer: str, event_name: str, start: datetime, end: datetime) -> int: ...


class StripeMeterSummaries:
    """Stripe's ``/v1/billing/meters/{id}/event_summaries``, meters found by event name."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client
        self._ids: dict[str, str] | None = None

    def _meter_id(self, event_name: str) -> str | None:
        if self._ids is None:
            meters = self._client.v1.billing.meters.list(params={"limit": 100})
            self._ids = {m.event_name: m.id for m in meters.auto_paging_iter()}
        return self._ids.get(event_name)

    def total(self, customer: str, event_name: str, start: datetime, end: datetime) -> int:
        meter_id = self._meter_id(event_name)
        if meter_id is None:
            return 0
        summaries = self._client.v1.billing.meters.event_summaries.list(
            meter_id,
            params={"customer": customer, "start_time": int(start.timestamp()), "end_time": int(end.timestamp())},
        )
        return sum(int(Decimal(str(s.aggregated_value))) for s in summaries.auto_paging_iter())
