"""What a simulated month should cost, computed straight from the generated events — without Kafka,
deduplication, ClickHouse or settlement — to check the pipeline's invoices against (demo and tests).

Only the pricing itself (``preview_invoice``) is shared with the pipeline; billing accounts, the split
along subscription versions, sums, seats and the storage time-weighted average are computed here
independently."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from rating.catalog.loader import Catalog
from rating.invoice import Invoice, billing_segments, preview_invoice
from rating.money import ZERO
from rating.subscriptions import SubscriptionHistory, billing_account
from rating.usage import PeriodUsage
from streams.simulate import SimEvent, Simulation


@dataclass
class _Part:
    api: Decimal = ZERO
    ai: Decimal = ZERO
    features: dict[str, Decimal] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)


def expected_invoices(sim: Simulation, catalog: Catalog) -> dict[str, Invoice]:
    period = sim.period
    cat = catalog.at(period.start)
    versions = defaultdict(list)
    for v in sim.subscriptions:
        versions[v.account_id].append(v)
    histories = {a: SubscriptionHistory(a, vs) for a, vs in versions.items()}
    per_account: dict[str, list[SimEvent]] = defaultdict(list)
    for e in sim.events:
        billed, _ = billing_account(e.org_id, e.user_id, histories.get(e.org_id or ""), e.ts)
        per_account[billed].append(e)
    out = {}
    for account in sorted(set(per_account) | set(histories)):
        history = histories.get(account) or SubscriptionHistory(account)
        segments = billing_segments(history, period, cat)
        parts = [_Part() for _ in segments]
        readings: list[tuple[float, str, Decimal]] = []
        for e in per_account.get(account, []):
            i = next(k for k, s in enumerate(segments) if s.start <= e.ts < s.end)
            p = parts[i]
            p.users.add(e.user_id)  # a seat: any usage event billed to the account (docs/rating.md)
            if e.metric == "api_calls":
                p.api += e.quantity
            elif e.metric == "ai_requests":
                p.ai += e.quantity
            elif e.metric == "premium_feature":
                f = e.properties.get("feature", "unknown")
                p.features[f] = p.features.get(f, ZERO) + e.quantity
            elif e.metric == "storage_gb":
                readings.append((e.ts.timestamp(), e.event_id, e.quantity))
        readings.sort()
        usage = [
            PeriodUsage(
                api_calls=p.api,
                ai_requests=p.ai,
                storage_gb_avg=_average(readings, s.start.timestamp(), s.end.timestamp()),
                premium_features=p.features,
                seat_users=frozenset(p.users),
            )
            for s, p in zip(segments, parts, strict=True)
        ]
        out[account] = preview_invoice(history, usage, period, cat, status="final")
    return out


def _average(readings: list[tuple[float, str, Decimal]], start: float, end: float) -> Decimal:
    """Each reading holds until the next; nothing is held before the first (the simulation starts empty)."""
    ms = [(round(t * 1000), v) for t, _, v in readings]
    s, e = round(start * 1000), round(end * 1000)
    level, at, area = ZERO, s, ZERO
    for t, v in ms:
        if t >= e:
            break
        if t > at:
            area += level * (t - at)
            at = t
        level = v
    area += level * (e - at)
    return area / Decimal(e - s)
