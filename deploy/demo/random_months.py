"""Seeded random months of usage for the invoice check (tests/e2e/test_random_months.py): pure, the clock
passed in.

Each subscribed account gets the last usage period on its anchor that ended at least six hours before
``now``, and usage in it and around its edges (events at its first and last millisecond, and an hour
either side). What a month holds:

- free users without a subscription (anchored on the 1st), over the free caps now and then, trying AI
  and premium features (flagged, never billed);
- standard users, monthly and annual (some in the anniversary period of their contract year, some
  not), new subscribers (at the period start, and inside the period with usage before), anchored on
  every day 1-31 (so the 29th-31st fall in short months when the month is short);
- upgrades free -> standard landing inside an hour, with usage in that hour on both sides;
- standard organizations, enterprise organizations crossing every seat bracket (1-100, 101-500,
  501-2,000 and 2,001 seats; two on a contract: graduated seats, minimum seats),
  and organizations without a subscription, whose members (free or
  standard themselves) pay for what they do there; every metric, storage readings included;
- organizations canceled, and organizations subscribing, inside the period (members on both sides);
- users without heartbeats (a seat is any usage), duplicates (re-sent with the same event_id).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from deploy.demo.independent_invoices import Usage, period_on
from schemas.events import Metric

SOURCE = "random-month"
FEATURES = ("deep_research", "document_analysis", "voice_synthesis")
MODELS = (("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku"), ("local", "llama"))
METRICS = (Metric.API_CALLS, Metric.AI_REQUESTS, Metric.STORAGE_GB, Metric.PREMIUM_FEATURE, Metric.ACTIVE_USER)
#: Enterprise organization sizes: both sides of every seat bracket (the 2,001 one when ``big``).
SEAT_SIZES = (1, 100, 101, 500, 501)
#: Enterprise organizations (by their index among the sizes) on a contract (docs/rating.md "Contracts"):
#: 101 seats graduated with an $8,000 annual platform fee; 1 seat with a 120-seat minimum (volume: 120 x $40).
CONTRACTS: dict[int, tuple[str, dict[str, Any]]] = {
    2: ("graduated", {"seat_mode": "graduated", "platform_fee": {"year": "8000"}}),
    0: ("minimum-120", {"minimum_seats": 120}),
}
MS = timedelta(milliseconds=1)


@dataclass
class RandomMonth:
    seed: int
    now: datetime
    subscriptions: list[dict[str, Any]]  # subscription records (as `meterline subscriptions put` publishes), in order
    events: list[Usage]  # every distinct event, in time order
    duplicates: list[Usage]  # events sent a second time, after the others
    plans: dict[str, str] = field(default_factory=dict)  # account -> what the generator made of it
    limit: datetime = field(default=datetime(1970, 1, 1, tzinfo=UTC))  # no event at or after this

    def sent(self) -> list[Usage]:
        return self.events + self.duplicates

    def oldest(self) -> datetime:
        return min(e.ts for e in self.events)


@dataclass
class _Gen:
    rng: random.Random
    seed: int
    limit: datetime
    events: list[Usage] = field(default_factory=list)
    subs: list[dict[str, Any]] = field(default_factory=list)
    plans: dict[str, str] = field(default_factory=dict)
    n: int = 0

    def add(self, metric: str, qty: Decimal | int, user: str, org: str | None, ts: datetime, **props: str) -> None:
        if ts >= self.limit:
            return
        self.n += 1
        q = qty if isinstance(qty, Decimal) else Decimal(qty)
        ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)  # events carry milliseconds
        self.events.append(Usage(SOURCE, f"rm{self.seed}-{self.n:07d}", ts, user, org, metric, q, props))

    def sub(
        self,
        account: str,
        kind: str,
        tier: str,
        anchor: date,
        at: datetime,
        interval: str = "month",
        version: int = 1,
        status: str = "active",
        contract: dict[str, Any] | None = None,
    ) -> None:
        record: dict[str, Any] = {
            "account_id": account,
            "account_kind": kind,
            "tier": tier,
            "status": status,
            "interval": interval,
            "anchor": anchor,
            "effective_from": at,
            "version": version,
        }
        if contract is not None:
            record["contract"] = contract
        self.subs.append(record)

    def moment(self, start: datetime, end: datetime) -> datetime:
        return start + timedelta(milliseconds=self.rng.randrange(int((end - start) / MS)))

    def one(self, metric: str, user: str, org: str | None, start: datetime, end: datetime, big: bool = False) -> None:
        """One event of ``metric`` at a random time of [start, end)."""
        rng, at = self.rng, self.moment(start, end)
        if metric == Metric.API_CALLS:
            qty = rng.choice((rng.randint(1, 3000), rng.randint(20_000, 60_000) if big else rng.randint(1, 900)))
            self.add(metric, qty, user, org, at)
        elif metric == Metric.AI_REQUESTS:
            provider, model = rng.choice(MODELS)
            tokens = {"input_tokens": str(rng.randint(10, 5000)), "output_tokens": str(rng.randint(10, 900))}
            self.add(metric, rng.randint(1, 3), user, org, at, provider=provider, model=model, **tokens)
        elif metric == Metric.STORAGE_GB:
            top = 120 if big else 8
            self.add(metric, Decimal(rng.randint(1000, top * 1000)) / 1000, user, org, at)
        elif metric == Metric.PREMIUM_FEATURE:
            self.add(metric, rng.randint(1, 3), user, org, at, feature=rng.choice(FEATURES))
        else:
            self.add(metric, 1, user, org, at)

    def activity(
        self, user: str, org: str | None, period: tuple[datetime, datetime], *, heartbeat: bool, big: bool = False
    ) -> None:
        """A few events of every metric over the period, edges included."""
        start, end = period
        rng = self.rng
        if heartbeat:
            for _ in range(rng.randint(1, 3)):
                self.one(Metric.ACTIVE_USER, user, org, start, end)
        for metric in (Metric.API_CALLS, Metric.AI_REQUESTS, Metric.STORAGE_GB, Metric.PREMIUM_FEATURE):
            for _ in range(rng.choice((0, 1, 2, 4))):
                self.one(metric, user, org, start, end, big)
        if rng.random() < 0.3:  # at the period's edges: the last and first millisecond, an hour either side
            metric = rng.choice((Metric.API_CALLS, Metric.PREMIUM_FEATURE, Metric.STORAGE_GB, Metric.AI_REQUESTS))
            for at in (start - timedelta(hours=1), start - MS, start, end - MS, end, end + timedelta(minutes=59)):
                self.one(metric, user, org, at, at + MS, big)


def last_closed_period(anchor_day: int, limit: datetime) -> tuple[datetime, datetime]:
    """The last period on ``anchor_day`` that ended at or before ``limit``."""
    start, _ = period_on(anchor_day, limit - MS)
    return period_on(anchor_day, start - MS)


def random_month(seed: int, now: datetime, *, big_org: bool = True) -> RandomMonth:
    rng = random.Random(seed)
    floor = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    # Events stop two hours before the last whole hour (closed, past nothing the worker still holds).
    g = _Gen(rng, seed, floor - timedelta(hours=2))
    limit = floor - timedelta(hours=6)  # subscribed accounts' periods end by then; their edges after
    days = list(range(1, 32))
    rng.shuffle(days)
    anchors = iter(days * 10)
    long_ago = floor - timedelta(days=400)

    def anchor_date(day: int, year_before: datetime) -> date:
        """A date on ``day`` a year before ``year_before``'s month, or a few months earlier if that month is short."""
        y, m = year_before.year - 1, year_before.month
        while True:
            try:
                return date(y, m, day)
            except ValueError:
                y, m = (y, m - 1) if m > 1 else (y - 1, 12)

    def p_of(day: int) -> tuple[datetime, datetime]:
        return last_closed_period(day, limit)

    # Free users, no subscription (periods on the 1st).
    free = [f"rm{seed}-free-{i:03d}" for i in range(80)]
    for u in free:
        g.plans[u] = "free"
        g.activity(u, None, p_of(1), heartbeat=rng.random() < 0.5, big=rng.random() < 0.3)
    # Standard users: monthly, annual in and out of the anniversary period, upgrades inside an hour.
    standard: list[tuple[str, tuple[datetime, datetime]]] = []
    for i in range(140):
        u, day = f"rm{seed}-std-{i:03d}", next(anchors)
        p = p_of(day)
        kind = (
            "month"
            if i < 60
            else "new"
            if i < 80
            else "year-anniversary"
            if i < 100
            else "year"
            if i < 110
            else "upgrade"
        )
        g.plans[u] = f"standard-{kind}"
        if kind == "month":
            g.sub(u, "user", "standard", anchor_date(day, long_ago), long_ago)
        elif kind == "new" and i % 2:
            # Subscribes at the period start: the usage just before is in the previous period on the same
            # anchor, billed to the user under the default tier.
            g.sub(u, "user", "standard", p[0].date(), p[0])
            for metric in (Metric.API_CALLS, Metric.PREMIUM_FEATURE, Metric.AI_REQUESTS):
                g.one(metric, u, None, p[0] - timedelta(hours=20), p[0])
        elif kind == "new":
            # Subscribes inside the period (anchored on its start day): a prorated fee, and the usage before
            # the start rated under the default tier (premium features not entitled then).
            at = g.moment(p[0] + timedelta(days=1), p[1] - timedelta(days=1))
            g.sub(u, "user", "standard", p[0].date(), at)
            for metric in (Metric.API_CALLS, Metric.PREMIUM_FEATURE, Metric.STORAGE_GB, Metric.AI_REQUESTS):
                g.one(metric, u, None, p[0], at)
        elif kind == "year-anniversary":
            a = anchor_date(day, p[0])  # the period starts on the anniversary (unless the month is short)
            g.sub(u, "user", "standard", a, datetime(a.year, a.month, a.day, tzinfo=UTC), "year")
        elif kind == "year":
            a = anchor_date(day, p[0] - timedelta(days=100))
            g.sub(u, "user", "standard", a, datetime(a.year, a.month, a.day, tzinfo=UTC), "year")
        else:
            a = anchor_date(day, long_ago)
            g.sub(u, "user", "free", a, long_ago)
            hour = p[0] + timedelta(hours=rng.randrange(int((p[1] - p[0]) / timedelta(hours=1))))
            at = hour + timedelta(milliseconds=rng.randrange(60_000, 3_540_000))
            g.sub(u, "user", "standard", a, at, version=2)
            for metric in (Metric.API_CALLS, Metric.PREMIUM_FEATURE, Metric.STORAGE_GB, Metric.AI_REQUESTS):
                g.one(metric, u, None, hour, at, big=True)  # the same hour, before and after the change
                g.one(metric, u, None, at, hour + timedelta(hours=1), big=True)
        standard.append((u, p))
        g.activity(u, None, p, heartbeat=rng.random() < 0.6, big=rng.random() < 0.5)
    # Organizations without a subscription: their members pay, each under their own terms and periods.
    for i in range(20):
        org = f"rm{seed}-noorg-{i:02d}"
        members = rng.sample(free, 2) + [u for u, _ in rng.sample(standard, rng.randint(1, 3))]
        for m in members:
            mp = next((p for u, p in standard if u == m), p_of(1))
            g.activity(m, org, mp, heartbeat=rng.random() < 0.5, big=True)
    # Standard organizations (no seats; pooled quotas, storage over the included 50 GB now and then).
    for i in range(30):
        org, day = f"rm{seed}-sorg-{i:02d}", next(anchors)
        g.plans[org] = "standard-org"
        g.sub(org, "org", "standard", anchor_date(day, long_ago), long_ago)
        p = p_of(day)
        for k in range(rng.randint(1, 6)):
            g.activity(f"{org}-m{k}", org, p, heartbeat=rng.random() < 0.6, big=True)
    # Organizations canceled inside the period (their members pay from then on) and organizations subscribing
    # inside it (their members paid until then): the billing account changes under the same members.
    for i in range(8):
        org, day = f"rm{seed}-corg-{i:02d}", next(anchors)
        p = p_of(day)
        at = g.moment(p[0] + timedelta(days=2), p[1] - timedelta(days=2))
        if i % 2 == 0:
            g.plans[org] = "org-canceled"
            a = anchor_date(day, long_ago)
            g.sub(org, "org", "standard", a, long_ago)
            g.sub(org, "org", "standard", a, at, version=2, status="canceled")
        else:
            tier, interval = ("enterprise", "year") if i % 4 == 3 else ("standard", "month")
            g.plans[org] = f"org-subscribes-{tier}"
            g.sub(org, "org", tier, p[0].date(), at, interval)
        members = [f"{org}-m{k}" for k in range(rng.randint(2, 5))] + [rng.choice(standard)[0]]
        for m in members:
            g.activity(m, org, p, heartbeat=rng.random() < 0.5, big=True)
            for metric in (Metric.STORAGE_GB, Metric.API_CALLS, Metric.PREMIUM_FEATURE):  # on both sides of the change
                g.one(metric, m, org, at - timedelta(hours=3), at, big=True)
                g.one(metric, m, org, at, at + timedelta(hours=3), big=True)
    # Enterprise organizations across the seat brackets; most members send a few events, no heartbeat needed.
    sizes = [*SEAT_SIZES, rng.randint(2, 99), rng.randint(102, 499)] + ([2001] if big_org else [])
    for i, size in enumerate(sizes):
        org, day = f"rm{seed}-ent-{i:02d}", next(anchors)
        anniversary = rng.random() < 0.5
        a = anchor_date(day, p_of(day)[0]) if anniversary else anchor_date(day, long_ago)
        g.plans[org] = f"enterprise-{size}" + (f"-{CONTRACTS[i][0]}" if i in CONTRACTS else "")
        g.sub(org, "org", "enterprise", a, long_ago, "year", contract=CONTRACTS[i][1] if i in CONTRACTS else None)
        p = p_of(day)
        for k in range(size):
            user = f"{org}-m{k:04d}"
            if k < 8:
                g.activity(user, org, p, heartbeat=rng.random() < 0.5, big=True)
            else:  # a seat from any one event
                g.one(rng.choice(METRICS), user, org, p[0], p[1])
        # A member with usage only outside the period is not a seat of it.
        g.one(Metric.API_CALLS, f"{org}-outside", org, p[1], p[1] + timedelta(minutes=30))
        if i == 0:  # past the pooled 1,000,000 included calls
            g.add(Metric.API_CALLS, 1_000_250, f"{org}-m0000", org, g.moment(*p))
    g.events.sort(key=lambda e: (e.ts, e.event_id))
    dupes = rng.sample(g.events, k=max(1, len(g.events) // 50))
    return RandomMonth(seed, now, g.subs, g.events, dupes, g.plans, g.limit)
