"""The live rating step: a batch of accepted events in, period-to-date state, deltas, quota and alerts out.

State is kept per *routing* account (the ``usage.accepted`` partition key: org or user), one table
entry each, written once per batch (docs/architecture.md §9). Inside an entry, counters are kept per billed
account, period and metric, so a tier change never resets them and each event is rated under the
subscription version in effect at its own time. This is the live view (docs/architecture.md §7): it drives
quotas, caps and alerts; money is settled from ClickHouse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from rating.aggregation import Sample
from rating.ai_costs import ai_request_cost
from rating.catalog.model import MeteredRule
from rating.live.gauge import fold_readings
from rating.money import ZERO
from rating.quota import EIGHTY, Alert, QuotaState, new_alerts, quota_state, rate_delta
from rating.seats import SEAT_METRIC, seat_users
from schemas.events import AcceptedEvent, Metric
from streams.live.resolve import Resolved, Resolver


@dataclass
class LiveOutputs:
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # routing account -> new entry
    rated: list[bytes] = field(default_factory=list)
    quotas: list[QuotaState] = field(default_factory=list)  # the reference's (``rate_batch``) only
    #: ``billing.quota-state`` records (key, JSON), in the order of the groups: what the agent sends.
    quota_records: list[tuple[bytes, bytes]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def quota_key(account_id: str, metric: str) -> bytes:
    """The ``billing.quota-state`` record key: a compacted topic keeps the latest state of each."""
    return f"{account_id}:{metric}".encode()


@dataclass
class _Group:
    """The batch's events of one routing account, billed account, period, metric and version."""

    routing: str
    metric: str
    terms: Resolved
    rule: MeteredRule
    events: list[AcceptedEvent] = field(default_factory=list)
    seats: set[str] = field(default_factory=set)  # the seat group's users, from events of any metric

    @property
    def order(self) -> tuple[datetime, int]:
        v = self.terms.version
        return v.effective_from, v.version


def _num(text: Any) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def rate_batch(
    events: Sequence[AcceptedEvent],
    states: Mapping[str, dict[str, Any] | None],
    resolver: Resolver,
    now: datetime,
) -> LiveOutputs:
    """``states``: the current table entry of every routing account in the batch (None if new).

    Events are grouped by the subscription version in effect at their own time; groups sharing a
    period counter are folded in version order, so a mid-batch tier change rates each side under its
    own terms and the counter carries on across it.
    """
    groups: dict[tuple[str, str, str, str, int, str], _Group] = {}
    resolve = resolver.resolve
    for ev in events:
        r = resolve(ev.org_id, ev.user_id, ev.ts_ms)
        key = (ev.account_id, r.billed, r.period, ev.metric, r.version.version, r.catalog.version)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(ev.account_id, ev.metric, r, r.rule(ev.metric))
        g.events.append(ev)
    _add_seat_groups(groups, states)

    out = LiveOutputs()
    rated_at = as_of = now.isoformat()
    oldest_live = _period_key(now - LIVE_PERIODS_SPAN)
    ordered = groups.values() if len({g.order for g in groups.values()}) < 2 else sorted(groups.values(), key=_order)
    for g in ordered:
        entry = out.states.get(g.routing)
        if entry is None:
            entry = out.states[g.routing] = _pruned(states.get(g.routing) or {}, oldest_live)
        t = g.terms
        slot_key = f"{t.billed}|{t.period}|{g.metric}"
        slot = dict(entry.get(slot_key) or {})
        before = _num(slot.get("used"))
        after, amount_delta, extra = _fold(g, slot)
        if after == before and not g.events and g.metric == SEAT_METRIC:
            continue  # seats derived from other metrics' events, none new: nothing to tell
        slot["used"] = f"{after:f}"
        if g.rule.per_feature:
            delta_amount, d_included, d_billable, unit_price = amount_delta, ZERO, ZERO, ZERO
        else:
            # Storage is billed on the period's time-weighted average, so its provisional charge moves
            # with that average (and may go down when less is held); counts are rated on the total.
            if g.metric == Metric.STORAGE_GB:
                billed_before, billed_after = _num(slot.get("prev_twa")), _num(extra.get("time_weighted_average"))
                slot.pop("prev_twa", None)
            else:
                billed_before, billed_after = before, after
            d = rate_delta(g.rule, billed_before, billed_after)
            delta_amount, d_included, d_billable, unit_price = d.amount, d.included, d.billable, d.unit_price
        out.rated.append(
            rated_line(
                t, g.metric, rated_at, after - before, after, d_included, d_billable, unit_price, delta_amount, extra
            )
        )
        q = quota_state(t.billed, g.metric, t.period, g.rule, t.tier.rate_limit_per_minute, after, now)
        out.quotas.append(q)
        out.quota_records.append((quota_key(q.account_id, q.metric), orjson.dumps(q.to_record(as_of))))
        raised = slot.get("alerted", ())
        alerts = (
            new_alerts(t.billed, g.metric, t.period, g.rule, before, after, now, raised)
            if after >= _first_threshold(g.rule)
            else ()
        )
        if alerts:
            slot["alerted"] = [*raised, *(a.kind for a in alerts)]
            out.alerts.extend(alerts)
        entry[slot_key] = slot
    return out


def rated_line(
    t: Resolved,
    metric: str,
    rated_at: str,
    quantity: Decimal,
    period_to_date: Decimal,
    included: Decimal,
    billable: Decimal,
    unit_price: Decimal,
    amount: Decimal,
    extra: Mapping[str, str],
) -> bytes:
    """A ``usage.rated`` line, as the reference writes it (the fast path's templates must give these bytes)."""
    return orjson.dumps(
        {
            "account_id": t.billed,
            "metric": metric,
            "period": t.period,
            "period_start_ms": t.period_start_ms,
            "tier": t.tier_name,
            "quantity": f"{quantity:f}",
            "period_to_date": f"{period_to_date:f}",
            "included": f"{included:f}",
            "billable": f"{billable:f}",
            "unit_price": f"{unit_price:f}",
            "amount": f"{amount:f}",
            "catalog_version": t.catalog.version,
            "subscription_version": t.version.version,
            "provisional": True,
            "rated_at": rated_at,
            **extra,
        }
    )


_thresholds: dict[int, tuple[MeteredRule, Decimal]] = {}
_NEVER = Decimal("Infinity")


def _first_threshold(rule: MeteredRule) -> Decimal:
    """The least usage at which ``new_alerts`` could raise anything under ``rule`` (most groups of a
    step are below it, and skip the call)."""
    hit = _thresholds.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    if not rule.entitled:
        first = Decimal("1e-30")  # any use at all
    else:
        points = [rule.hard_cap, rule.fair_use_alert]
        if rule.included is not None and rule.included > 0:
            points.append(rule.included * EIGHTY)
        first = min((p for p in points if p is not None), default=_NEVER)
    _thresholds[id(rule)] = (rule, first)  # the rule is kept, so its id is never reused meanwhile
    return first


def _add_seat_groups(
    groups: dict[tuple[str, str, str, str, int, str], _Group], states: Mapping[str, dict[str, Any] | None]
) -> None:
    """Every event makes its user a seat of the account it is billed to (``rating/seats.py``): the
    users of each group join the seat group of the same account, period and version — only those not
    already seats in the entry, so most groups add no seat group (a cheap step)."""
    known: dict[tuple[str, str], set[str]] = {}
    for key, g in list(groups.items()):
        users = seat_users((e.user_id, 1) for e in g.events)
        if g.metric != SEAT_METRIC:
            k = (g.routing, f"{g.terms.billed}|{g.terms.period}|{SEAT_METRIC}")
            seen = known.get(k)
            if seen is None:
                slot = (states.get(g.routing) or {}).get(k[1]) or {}
                seen = known[k] = set(slot.get("users", ()))
            users -= seen
            if not users:
                continue
        seat_key = (*key[:3], SEAT_METRIC, *key[4:])
        seat = groups.get(seat_key)
        if seat is None:
            seat = groups[seat_key] = _Group(g.routing, SEAT_METRIC, g.terms, g.terms.rule(SEAT_METRIC))
        seat.seats |= users


def _order(g: _Group) -> tuple[datetime, int]:
    return g.order


def _fold(g: _Group, slot: dict[str, Any]) -> tuple[Decimal, Decimal, dict[str, str]]:
    """Fold the group's events into its slot; returns (period-to-date used, amount added, extras)."""
    before = _num(slot.get("used"))
    if g.metric == SEAT_METRIC:
        users = set(slot.get("users", [])) | g.seats
        if len(users) > before:
            slot["users"] = sorted(users)
        return Decimal(len(users)), ZERO, {}
    if g.metric == Metric.STORAGE_GB:
        t = g.terms
        held, twa = fold_readings(
            slot, (Sample(e.ts_ms, e.event_id, e.quantity) for e in g.events), t.period_start_ms, t.period_end_ms
        )
        slot["prev_twa"], slot["twa"] = slot.get("twa"), f"{twa:f}"
        # Quota and hard cap look at the GB held now; the bill at the period's time-weighted average.
        return held, ZERO, {"time_weighted_average": f"{twa:f}"}
    total = before + sum((e.quantity for e in g.events), ZERO)
    extra: dict[str, str] = {}
    amount = ZERO
    if g.metric == Metric.PREMIUM_FEATURE:
        features = dict(slot.get("features", {}))
        for e in g.events:
            name = str(e.properties.get("feature", "unknown"))
            features[name] = f"{_num(features.get(name)) + e.quantity:f}"
            if g.rule.entitled:
                amount += e.quantity * g.rule.per_feature.get(name, ZERO)
        slot["features"] = features
    if g.metric == Metric.AI_REQUESTS:
        cost = _num(slot.get("ai_cost"))
        table = g.terms.catalog.ai_costs  # the catalog at the events' own time: a replay prices like settlement
        for e in g.events:
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


#: How far back a period can still take usage: events up to 35 days late (``max_event_age_days``) into a
#: period of up to 31 days, with room to spare. Slots of periods that started earlier are dropped from
#: an entry (settlement owns them), so an account's entry holds two or three periods, not its history.
LIVE_PERIODS_SPAN = timedelta(days=75)
#: Slots an entry may hold before it is checked for old periods (five metrics, two periods).
_PRUNE_ABOVE = 10


def _period_key(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"  # the ``YYYY-MM`` of a period's start, as slot keys carry it


def _pruned(entry: dict[str, Any], oldest_live: str) -> dict[str, Any]:
    """A copy of ``entry`` without the slots of periods that started before the month ``oldest_live``."""
    if len(entry) <= _PRUNE_ABOVE:
        return dict(entry)
    return {k: v for k, v in entry.items() if k.rsplit("|", 2)[1] >= oldest_live}
