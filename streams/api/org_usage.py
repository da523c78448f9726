"""An organization's period-to-date usage per member — metrics, AI requests, tokens and their platform cost by
provider and model — from the raw events (``Warehouse.member_usage``), and the AI caps checked against it
(docs/ai-controls.md). Cached per organization and period for ``METERLINE_API_CACHE_SECONDS``: the entitlement
answer and the admin panel's live view read it; the cap watcher reads it fresh."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from rating.ai_caps import AiUse, refusal
from rating.ai_costs import ai_request_cost
from rating.catalog.model import AiCost
from rating.money import ZERO
from rating.periods import Period
from schemas.events import Metric
from sinks.clickhouse.member_usage import MemberUsageRow
from streams.api.routing import Call
from streams.api.warehouse import Warehouse
from streams.store.ai_controls import ORG, Rule

AI = Metric.AI_REQUESTS.value


@dataclass(frozen=True, slots=True)
class ModelUse:
    provider: str
    model: str
    requests: Decimal
    input_tokens: int
    output_tokens: int
    spend: Decimal


@dataclass
class MemberUse:
    user_id: str
    metrics: dict[str, Decimal] = field(default_factory=dict)
    models: list[ModelUse] = field(default_factory=list)
    events: int = 0

    @property
    def ai(self) -> AiUse:
        return AiUse(sum((m.requests for m in self.models), ZERO), sum((m.spend for m in self.models), ZERO))


@dataclass(frozen=True, slots=True)
class OrgUsage:
    period: Period
    as_of: datetime
    members: dict[str, MemberUse]

    @property
    def ai(self) -> AiUse:
        return sum((m.ai for m in self.members.values()), AiUse())

    def ai_of(self, user_id: str) -> AiUse:
        m = self.members.get(user_id)
        return m.ai if m is not None else AiUse()


def org_usage(
    rows: list[MemberUsageRow], costs: Mapping[str, Mapping[str, AiCost]], period: Period, as_of: datetime
) -> OrgUsage:
    """Rows summed per member; each (provider, model) priced once on its summed tokens (the price is linear)."""
    members: dict[str, MemberUse] = {}
    for r in rows:
        m = members.setdefault(r.user_id, MemberUse(r.user_id))
        m.metrics[r.metric] = m.metrics.get(r.metric, ZERO) + r.quantity
        m.events += r.events
        if r.metric == AI:
            cost = ai_request_cost(costs, r.provider, r.model, r.input_tokens, r.output_tokens).cost
            m.models.append(ModelUse(r.provider, r.model, r.quantity, r.input_tokens, r.output_tokens, cost))
    return OrgUsage(period, as_of, members)


def load_org_usage(
    warehouse: Warehouse, costs: Mapping[str, Mapping[str, AiCost]], org: str, period: Period, now: datetime
) -> OrgUsage:
    return org_usage(warehouse.member_usage(org, period.start, min(period.end, now)), costs, period, now)


def cached_org_usage(call: Call, org: str, period: Period, now: datetime) -> OrgUsage:
    """``load_org_usage`` through the API's cache (for ``METERLINE_API_CACHE_SECONDS``; a store write empties it)."""
    costs = call.ctx.catalog.at(now).ai_costs
    return call.ctx.cache.get(
        "org_usage", (org, period.key), lambda: load_org_usage(call.ctx.warehouse, costs, org, period, now)
    )


def cap_refusal(rules: tuple[Rule, ...], usage: OrgUsage) -> str | None:
    """``ai_cap_reached`` when a hard cap binding the asker is reached: the organization's cap counts everyone's
    use, a member's cap their own."""
    return refusal(
        (r.cap, usage.ai if r.user_id == ORG else usage.ai_of(r.user_id)) for r in rules if r.cap.any and r.cap.hard
    )
