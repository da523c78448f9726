"""Settlement, the pure part: deduplicated events of closed hours → settled hourly usage → rated lines
and each period's invoice inputs (docs/architecture.md §7). No I/O, no clock: the caller reads ``events`` and
passes the subscription histories and the catalog in.

Each event is billed to the account and rated under the subscription version in effect at its own
timestamp (``billing_account`` / ``rated_tier``, the same functions the live stage uses), so an
hour that straddles a tier change yields one row per version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rating.aggregation import GaugeState, Sample
from rating.ai_costs import ai_request_cost
from rating.catalog.loader import Catalog
from rating.catalog.model import CatalogVersion, MeteredRule
from rating.money import ZERO
from rating.periods import Period
from rating.quota import rate_delta
from rating.seats import SEAT_METRIC, Membership, most_members, seat_users
from rating.subscriptions import (
    DEFAULT_ANCHOR,
    Segment,
    SubscriptionHistory,
    SubscriptionVersion,
    anchor_at,
    billing_account,
    free_version,
    period_at,
    period_named,
    rated_tier,
)
from rating.usage import PeriodUsage
from schemas.events import Metric

HistoryLookup = Callable[[str], SubscriptionHistory | None]
_HOUR_MS = 3_600_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SettledEvent:
    """One deduplicated row of ``events``."""

    event_id: str
    routing_account: str
    user_id: str
    org_id: str | None
    metric: str
    quantity: Decimal
    ts_ms: int
    feature: str = ""
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def at(self) -> datetime:
        return EPOCH + timedelta(milliseconds=self.ts_ms)


@dataclass(frozen=True, slots=True)
class HourlyUsage:
    """One ``usage_hourly`` row."""

    account_id: str
    routing_account: str
    user_id: str
    metric: str
    dimension: str
    hour: datetime
    sub_version: int
    tier: str
    quantity: Decimal  # a sum; storage_gb: the hour's last reading
    events: int
    input_tokens: int = 0
    output_tokens: int = 0
    ai_cost: Decimal = ZERO


def version_for(account_id: str, kind: str, histories: HistoryLookup, at: datetime) -> SubscriptionVersion:
    """The version in effect at ``at``, or the free tier since forever for an unknown account."""
    h = histories(account_id)
    v = h.at(at) if h is not None else None
    return v if v is not None else free_version(account_id, "org" if kind == "org" else "user", DEFAULT_ANCHOR)


def billed_version(ev: SettledEvent, histories: HistoryLookup) -> tuple[str, SubscriptionVersion]:
    """docs/architecture.md §4: the account an event is billed to at its own time, and the version it is rated under."""
    at = ev.at
    org_hist = histories(ev.org_id) if ev.org_id else None
    billed, version = billing_account(ev.org_id, ev.user_id, org_hist, at)
    if version is None:
        version = version_for(ev.user_id, "user", histories, at)
    return billed, version


def tier_name(version: SubscriptionVersion, catalog: CatalogVersion) -> str:
    if version.status == "canceled" and catalog.default_tier is not None:
        return catalog.default_tier
    return version.tier


def dimension_of(ev: SettledEvent) -> str:
    if ev.metric == Metric.PREMIUM_FEATURE:
        return ev.feature or "unknown"
    if ev.metric == Metric.AI_REQUESTS:
        return f"{ev.provider}/{ev.model}"
    return ""


@dataclass(slots=True)
class _HourAcc:
    tier: str
    quantity: Decimal = ZERO
    events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    ai_cost: Decimal = ZERO
    last: tuple[int, str] = (-1, "")


def hourly_usage(events: Iterable[SettledEvent], histories: HistoryLookup, catalog: Catalog) -> list[HourlyUsage]:
    """Aggregate deduplicated events into hourly rows per billing account, user, metric, dimension
    and subscription version. ``events`` must hold every event of the hours it touches."""
    groups: dict[tuple[str, str, str, str, str, int, int], _HourAcc] = {}
    for ev in events:
        billed, version = billed_version(ev, histories)
        cat = catalog.at(ev.at)
        hour_ms = ev.ts_ms - ev.ts_ms % _HOUR_MS
        key = (billed, ev.routing_account, ev.user_id, ev.metric, dimension_of(ev), hour_ms, version.version)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _HourAcc(tier_name(version, cat))
        g.events += 1
        if ev.metric == Metric.STORAGE_GB:
            stamp = (ev.ts_ms, ev.event_id)
            if stamp > g.last:  # the hour's last reading, whatever order rows come in
                g.last, g.quantity = stamp, ev.quantity
        else:
            g.quantity += ev.quantity
        if ev.metric == Metric.AI_REQUESTS:
            g.input_tokens += ev.input_tokens
            g.output_tokens += ev.output_tokens
            g.ai_cost += ai_request_cost(cat.ai_costs, ev.provider, ev.model, ev.input_tokens, ev.output_tokens).cost
    rows = [
        HourlyUsage(
            account_id=billed,
            routing_account=routing,
            user_id=user,
            metric=metric,
            dimension=dim,
            hour=EPOCH + timedelta(milliseconds=hour_ms),
            sub_version=sub_version,
            tier=g.tier,
            quantity=g.quantity,
            events=g.events,
            input_tokens=g.input_tokens,
            output_tokens=g.output_tokens,
            ai_cost=g.ai_cost,
        )
        for (billed, routing, user, metric, dim, hour_ms, sub_version), g in groups.items()
    ]
    rows.sort(key=lambda r: (r.account_id, r.metric, r.hour, r.user_id, r.dimension, r.sub_version))
    return rows


def account_anchor(account_id: str, histories: HistoryLookup, at: datetime) -> date:
    """The anchor of the account's periods around ``at`` (the rule: :func:`rating.subscriptions.anchor_at`)."""
    return anchor_at(histories(account_id), at)


def account_period(account_id: str, histories: HistoryLookup, at: datetime) -> Period:
    """The usage period of ``account_id`` containing ``at`` (anchored on its subscription's anchor)."""
    return period_at(histories(account_id), at)


def account_period_named(account_id: str, histories: HistoryLookup, key: str) -> Period:
    """The usage period of ``account_id`` named ``key`` (YYYY-MM), on the anchor in effect when it starts."""
    return period_named(histories(account_id), key)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One settled ``rated_usage`` line: what an hour added to the period's charge for a metric."""

    account_id: str
    period: Period
    metric: str
    dimension: str
    hour: datetime
    tier: str
    sub_version: int
    quantity: Decimal
    period_to_date: Decimal
    included: Decimal
    billable: Decimal
    unit_price: Decimal
    amount: Decimal  # full precision
    catalog_version: str


def rated_lines(
    account_id: str, period: Period, rows: Sequence[HourlyUsage], segments: Sequence[Segment], catalog: Catalog
) -> list[RatedLine]:
    """Rate a period's settled hourly rows of one account in time order: each hour is charged what its
    version's rule adds between the period's cumulative usage before and after it (the invoice's rule,
    so the lines of a closed period add up to its metered invoice lines before rounding). Seats and
    storage are priced once per period on the invoice; their lines carry quantities only: seats are one
    ``active_user`` line per subscription version, dated at the period start, holding the seats first
    seen under that version (``rating/seats.py``), so the lines add up to the period's seats."""
    cat = catalog.at(period.start)
    rules = _rules_by_version(segments, cat)
    merged: dict[tuple[str, str, datetime, int], tuple[str, Decimal]] = {}
    active: dict[tuple[datetime, int], list[tuple[str, int]]] = {}
    tiers: dict[int, str] = {}
    for r in rows:
        active.setdefault((r.hour, r.sub_version), []).append((r.user_id, r.events))
        tiers[r.sub_version] = r.tier
        if r.metric == SEAT_METRIC:  # a heartbeat adds nothing but its user as a seat (as every event does)
            continue
        k = (r.metric, r.dimension, r.hour, r.sub_version)
        _, q = merged.get(k, ("", ZERO))
        merged[k] = (r.tier, r.quantity if r.metric == Metric.STORAGE_GB else q + r.quantity)
    seen: set[str] = set()
    new_seats: dict[int, int] = {}  # sub_version -> seats first seen under it, in time order
    for hour, sub_version in sorted(active):
        fresh = seat_users(active[(hour, sub_version)]) - seen
        seen |= fresh
        new_seats[sub_version] = new_seats.get(sub_version, 0) + len(fresh)
    cumulative: dict[str, Decimal] = {}
    out = []
    for (metric, dim, hour, sub_version), (tier, qty) in sorted(merged.items(), key=lambda kv: (kv[0][2], kv[0])):
        rule = rules.get(sub_version, {}).get(metric)
        before = cumulative.get(metric, ZERO)
        after = qty if metric == Metric.STORAGE_GB else before + qty
        cumulative[metric] = after
        included = billable = unit_price = amount = ZERO
        if rule is not None and metric == Metric.PREMIUM_FEATURE:
            unit_price = rule.per_feature.get(dim, ZERO) if rule.entitled else ZERO
            billable, amount = (qty, qty * unit_price) if unit_price else (ZERO, ZERO)
        elif rule is not None and metric in (Metric.API_CALLS, Metric.AI_REQUESTS):
            d = rate_delta(rule, before, after)
            included, billable, unit_price, amount = d.included, d.billable, d.unit_price, d.amount
        out.append(
            RatedLine(
                account_id,
                period,
                metric,
                dim,
                hour,
                tier,
                sub_version,
                qty,
                after,
                included,
                billable,
                unit_price,
                amount,
                cat.version,
            )
        )
    seats = ZERO
    for sub_version, count in new_seats.items():
        seats += count
        out.append(
            RatedLine(
                account_id,
                period,
                SEAT_METRIC,
                "",
                period.start,
                tiers[sub_version],
                sub_version,
                Decimal(count),
                seats,
                ZERO,
                ZERO,
                ZERO,
                ZERO,
                cat.version,
            )
        )
    return out


def _rules_by_version(segments: Sequence[Segment], cat: CatalogVersion) -> dict[int, dict[str, MeteredRule]]:
    return {seg.version.version: dict(rated_tier(seg.version, cat).metrics) for seg in segments}


def segment_index(segments: Sequence[Segment], row: HourlyUsage) -> int:
    """The segment a row belongs to: the one of its version, else the one its hour falls in."""
    for i, seg in enumerate(segments):
        if seg.version.version == row.sub_version and seg.start - timedelta(hours=1) < row.hour < seg.end:
            return i
    for i, seg in enumerate(segments):
        if seg.start <= row.hour < seg.end:
            return i
    return 0


@dataclass(slots=True)
class _SegmentAcc:
    api_calls: Decimal = ZERO
    ai_requests: Decimal = ZERO
    features: dict[str, Decimal] = field(default_factory=dict)
    active: list[tuple[str, int]] = field(default_factory=list)  # (user, events) of every row: seats


def usage_by_segment(
    rows: Sequence[HourlyUsage], segments: Sequence[Segment], storage: GaugeState
) -> list[PeriodUsage]:
    """The invoice's input: a period's settled usage split along its subscription segments.
    ``storage`` holds the account's storage readings of the period and the value carried into it."""
    parts = [_SegmentAcc() for _ in segments]
    for r in rows:
        p = parts[segment_index(segments, r)]
        p.active.append((r.user_id, r.events))
        if r.metric == Metric.API_CALLS:
            p.api_calls += r.quantity
        elif r.metric == Metric.AI_REQUESTS:
            p.ai_requests += r.quantity
        elif r.metric == Metric.PREMIUM_FEATURE:
            p.features[r.dimension] = p.features.get(r.dimension, ZERO) + r.quantity
    return [
        PeriodUsage(
            api_calls=p.api_calls,
            ai_requests=p.ai_requests,
            storage_gb_avg=_segment_average(storage, _ms(seg.start), _ms(seg.end)),
            premium_features=p.features,
            seat_users=frozenset(seat_users(p.active)),
        )
        for seg, p in zip(segments, parts, strict=True)
    ]


def counts_members(segments: Sequence[Segment], cat: CatalogVersion) -> bool:
    """Whether a stretch of the period bills seats on the ``provisioned`` basis (its membership is needed)."""
    return any(rated_tier(seg.version, cat).seat_basis == "provisioned" for seg in segments)


def with_members(
    usage: Sequence[PeriodUsage], segments: Sequence[Segment], spans: Sequence[Membership]
) -> list[PeriodUsage]:
    """The usage of each stretch with the most members the organization had at once in it (rating/seats.py)."""
    return [
        replace(u, most_members=most_members(spans, seg.start, seg.end)) for u, seg in zip(usage, segments, strict=True)
    ]


def _segment_average(storage: GaugeState, start_ms: int, end_ms: int) -> Decimal:
    """Time-weighted average over [start, end) of a gauge whose carried-in value holds from before start."""
    carried = storage.carried_in
    inside = []
    for s in storage.samples:
        if s.ts_ms <= start_ms:
            carried = s.value
        elif s.ts_ms < end_ms:
            inside.append(s)
    return GaugeState(carried, tuple(inside)).time_weighted_average(start_ms, end_ms)


def storage_gauge(carried_in: Decimal, readings: Iterable[tuple[int, str, Decimal]]) -> GaugeState:
    return GaugeState(carried_in).add(Sample(ts, eid, v) for ts, eid, v in readings)


def _ms(at: datetime) -> int:
    """Epoch milliseconds, exact (integer arithmetic, no float rounding)."""
    return (at - EPOCH) // timedelta(milliseconds=1)
