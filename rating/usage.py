"""A settled period's usage of one billing account: the input of rating and of the invoice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from rating.money import ZERO
from schemas.events import Metric


@dataclass(frozen=True, slots=True)
class PeriodUsage:
    """Aggregated per the catalog's rules: sums, the storage time-weighted average, distinct seats."""

    api_calls: Decimal = ZERO
    ai_requests: Decimal = ZERO
    # Time-weighted average GB over the stretch this usage covers (the whole period when the
    # subscription did not change); the invoice weights the stretches by their length.
    storage_gb_avg: Decimal = ZERO
    premium_features: Mapping[str, Decimal] = field(default_factory=dict)  # uses per feature
    seats: int = 0  # distinct active users (used when seat_users is empty)
    seat_users: frozenset[str] = frozenset()  # the distinct active users themselves (exact across stretches)
    most_members: int = 0  # the most members the organization had at once in the stretch (provisioned seats)
    addons: Mapping[str, Decimal] = field(default_factory=dict)  # contracted add-on quantities

    def metric(self, name: str) -> Decimal:
        return {
            Metric.API_CALLS.value: self.api_calls,
            Metric.AI_REQUESTS.value: self.ai_requests,
            Metric.STORAGE_GB.value: self.storage_gb_avg,
            Metric.PREMIUM_FEATURE.value: sum(self.premium_features.values(), ZERO),
            Metric.ACTIVE_USER.value: Decimal(len(self.seat_users) or self.seats),
        }.get(name, ZERO)
