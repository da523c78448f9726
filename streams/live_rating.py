"""The live rating step: a batch of accepted events in, period-to-date state, deltas, quota and alerts out.

State is kept per *routing* account (the ``usage.accepted`` partition key: org or user), one table
entry each, written once per batch (DESIGN §9). Inside an entry, counters are kept per billed
account, period and metric, so a tier change never resets them and each event is rated under the
subscription version in effect at its own time. This is the live view (DESIGN §7): it drives
quotas, caps and alerts; money is settled from ClickHouse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from rating.aggregation import GaugeState, Sample
from rating.ai_costs import ai_request_cost
from rating.catalog.loader import Catalog
from rating.catalog.model import MeteredRule
from rating.money import ZERO
from rating.periods import period_containing
from rating.quota import Alert, QuotaState, new_alerts, quota_state, rate_delta
from rating.settle import tier_name
from rating.subscriptions import billing_account, rated_tier
from schemas.events import AcceptedEvent, epoch_ms
from streams.subscription_registry import SubscriptionRegistry

NOT_ENTITLED = MeteredRule(entitled=False)


@dataclass
class LiveOutputs:
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # routing account -> new entry
    rated: list[bytes] = field(default_factory=list)
    quotas: list[QuotaState] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class _Group:
    routing: str
    billed: str
    period: str
    period_start_ms: int
    period_end_ms: int
    metric: str
    rule: MeteredRule
    rate_limit: int
    catalog_version: str
    sub_version: int
    tier: str
    events: list[AcceptedEvent] = field(default_factory=list)


def _num(text: Any) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def rate_batch(
    events: Sequence[AcceptedEvent],
    states: Mapping[str, dict[str, Any] | None],
    registry: SubscriptionRegistry,
    catalog: Catalog,
    now: datetime,
) -> LiveOutputs:
    """``states``: the current table entry of every routing account in the batch (None if new)."""
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for ev in events:
        at = ev.timestamp
        org_hist = registry.history(ev.org_id) if ev.org_id else None
        billed, version = billing_account(ev.org_id, ev.user_id, org_hist, at)
        if version is None:
            version = registry.version_at(ev.user_id, "user", at)
        cat = catalog.at(at)
        tier = rated_tier(version, cat)  # the same terms settlement uses (canceled → default tier)
        period = period_containing(version.anchor, at)
        key = (ev.account_id, billed, period.key, ev.metric)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(
                ev.account_id,
                billed,
                period.key,
                epoch_ms(period.start),
                epoch_ms(period.end),
                ev.metric,
                tier.metrics.get(ev.metric, NOT_ENTITLED),
                tier.rate_limit_per_minute,
                cat.version,
                version.version,
                tier_name(version, cat),
            )
        else:  # the latest version seen in the batch decides the rule for the batch's delta
            g.rule = tier.metrics.get(ev.metric, NOT_ENTITLED)
            g.rate_limit, g.sub_version = tier.rate_limit_per_minute, version.version
            g.tier = tier_name(version, cat)
        g.events.append(ev)

    out = LiveOutputs()
    for g in groups.values():
        entry = out.states.get(g.routing)
        if entry is None:
            entry = out.states[g.routing] = dict(states.get(g.routing) or {})
        slot_key = f"{g.billed}|{g.period}|{g.metric}"
        slot = dict(entry.get(slot_key) or {})
        before = _num(slot.get("used"))
        after, amount_delta, extra = _fold(g, slot, catalog, now)
        slot["used"] = f"{after:f}"
        entry[slot_key] = slot
        if g.rule.per_feature:
            delta_amount, d_included, d_billable, unit_price = amount_delta, ZERO, ZERO, ZERO
        else:
            # Storage is billed on the period's time-weighted average, so its provisional charge moves
            # with that average (and may go down when less is held); counts are rated on the total.
            if g.metric == "storage_gb":
                billed_before, billed_after = _num(slot.get("prev_twa")), _num(extra.get("time_weighted_average"))
                slot.pop("prev_twa", None)
            else:
                billed_before, billed_after = before, after
            d = rate_delta(g.rule, billed_before, billed_after)
            delta_amount, d_included, d_billable, unit_price = d.amount, d.included, d.billable, d.unit_price
        out.rated.append(
            orjson.dumps(
                {
                    "account_id": g.billed,
                    "metric": g.metric,
                    "period": g.period,
                    "period_start_ms": g.period_start_ms,
                    "tier": g.tier,
                    "quantity": f"{after - before:f}",
                    "period_to_date": f"{after:f}",
                    "included": f"{d_included:f}",
                    "billable": f"{d_billable:f}",
                    "unit_price": f"{unit_price:f}",
                    "amount": f"{delta_amount:f}",
                    "catalog_version": g.catalog_version,
                    "subscription_version": g.sub_version,
                    "provisional": True,
                    "rated_at": now.isoformat(),
                    **extra,
                }
            )
        )
        out.quotas.append(quota_state(g.billed, g.metric, g.period, g.rule, g.rate_limit, after, now))
        out.alerts.extend(new_alerts(g.billed, g.metric, g.period, g.rule, before, after, now))
    return out


def _fold(g: _Group, slot: dict[str, Any], catalog: Catalog, now: datetime) -> tuple[Decimal, Decimal, dict[str, str]]:
    """Fold the group's events into its slot; returns (period-to-date used, amount added, extras)."""
    before = _num(slot.get("used"))
    if g.metric == "active_user":
        users = set(slot.get("users", [])) | {e.user_id for e in g.events}
        slot["users"] = sorted(users)
        return Decimal(len(users)), ZERO, {}
    if g.metric == "storage_gb":
        gauge = GaugeState(
            _num(slot.get("carried_in")),
            tuple(Sample(t, i, Decimal(v)) for t, i, v in slot.get("samples", [])),
        ).add(Sample(e.ts_ms, e.event_id, e.quantity) for e in g.events)
        slot["samples"] = [[s.ts_ms, s.event_id, f"{s.value:f}"] for s in gauge.samples]
        twa = gauge.time_weighted_average(g.period_start_ms, g.period_end_ms)  # last reading held to the end
        slot["prev_twa"], slot["twa"] = slot.get("twa"), f"{twa:f}"
        # Quota and hard cap look at the GB held now; the bill at the period's time-weighted average.
        return gauge.last_value(), ZERO, {"time_weighted_average": f"{twa:f}"}
    total = before + sum((e.quantity for e in g.events), ZERO)
    extra: dict[str, str] = {}
    amount = ZERO
    if g.metric == "premium_feature":
        features = dict(slot.get("features", {}))
        for e in g.events:
            name = str(e.properties.get("feature", "unknown"))
            features[name] = f"{_num(features.get(name)) + e.quantity:f}"
            if g.rule.entitled:
                amount += e.quantity * g.rule.per_feature.get(name, ZERO)
        slot["features"] = features
    if g.metric == "ai_requests":
        cost = _num(slot.get("ai_cost"))
        for e in g.events:
            table = catalog.at(e.timestamp).ai_costs  # event time: a replay prices like settlement
            p = e.properties
            cost += ai_request_cost(
                table,
                str(p.get("provider", "")),
                str(p.get("model", "")),
                _int(p.get("input_tokens")),
                _int(p.get("output_tokens")),
            ).cost
        slot["ai_cost"] = f"{cost:f}"
        extra["ai_cost_to_date"] = f"{cost:f}"
    return total, amount, extra


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def prune(entry: dict[str, Any], keep_periods: set[str]) -> dict[str, Any]:
    """Drop slots of periods no longer live (settlement owns them)."""
    return {k: v for k, v in entry.items() if k.split("|")[1] in keep_periods}


def group_by_routing(events: Sequence[AcceptedEvent]) -> dict[str, list[AcceptedEvent]]:
    out: dict[str, list[AcceptedEvent]] = defaultdict(list)
    for e in events:
        out[e.account_id].append(e)
    return out
