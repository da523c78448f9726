"""A month of a simulated platform's usage, reproducible from a seed (``meterline simulate``).

About 1,000 users and 50 organizations across free, standard (monthly and annual) and enterprise,
with mid-period upgrades, a downgrade and a cancellation at the period end and one failed payment;
two enterprise contracts (``CONTRACTS``): one with a monthly commitment trued up and prepaid credit grants,
one with add-ons of every kind, graduated seats on the ``provisioned`` basis and members joining and leaving;
usage with daily and weekly rhythms, AI requests across providers and models, storage that grows,
premium features and active users; plus what real producers also send: duplicates (a retried batch),
late events (held back and sent last) and a few malformed records. Pure: the period is passed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from rating.addons import AddonUse, period_quantities
from rating.credits import CreditGrant
from rating.periods import Period
from rating.seats import Membership
from rating.subscriptions import SubscriptionVersion
from schemas.events import Metric

PROVIDERS: dict[str, list[str]] = {
    "openai": ["gpt-4o", "gpt-4o-mini"],
    "anthropic": ["claude-sonnet-4", "claude-haiku"],
    "google": ["gemini-1.5-pro"],
}
FEATURES = ("deep_research", "document_analysis", "voice_synthesis")
MALFORMED: tuple[bytes, ...] = (
    b"{not json",
    b"[1, 2, 3]",
    b'{"event_id": "x", "metric": "tokens"}',
    b'{"events": [{"event_id": "neg-1", "metric": "api_calls", "quantity": -5, "user_id": "u", '
    b'"timestamp": "2026-01-01T00:00:00Z"}]}',
    b'{"events": [{"event_id": "unk-1", "metric": "teleports", "quantity": 1, "user_id": "u", '
    b'"timestamp": "2026-01-01T00:00:00Z"}]}',
    b'{"events": [{"event_id": "nouser-1", "metric": "api_calls", "quantity": 1, '
    b'"timestamp": "2026-01-01T00:00:00Z"}]}',
)
Kind = Literal["user", "org"]


@dataclass(frozen=True, slots=True)
class SimEvent:
    event_id: str
    metric: str
    quantity: Decimal
    user_id: str
    org_id: str | None
    ts: datetime
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    kind: Kind
    plan: str  # what the simulation made of it: free, standard-month, upgrade, downgrade, ...
    members: tuple[str, ...] = ()


@dataclass
class Simulation:
    seed: int
    period: Period
    accounts: list[Account]
    subscriptions: list[SubscriptionVersion]
    events: list[SimEvent]  # every distinct event, in time order (the truth)
    duplicates: list[SimEvent]  # events sent a second time
    late: list[SimEvent]  # events (also in ``events``) held back and sent after all the others
    malformed: tuple[bytes, ...] = MALFORMED
    addons: dict[str, list[AddonUse]] = field(default_factory=dict)  # per account: recorded add-ons
    credits: dict[str, list[CreditGrant]] = field(default_factory=dict)  # per account: prepaid credit grants
    memberships: dict[str, list[Membership]] = field(default_factory=dict)  # per organization: its history

    # What settlement reads from a billing store, served from the simulation (``Settler``'s ``addons``,
    # ``credits`` and ``members``): the demo has no billing store before it settles.
    def addon_quantities(self, account: str, period: Period) -> dict[str, Decimal]:
        return period_quantities(self.addons.get(account, ()), period)

    def credit_grants(self, account: str) -> list[CreditGrant]:
        return self.credits.get(account, [])

    def members_of(self, account: str) -> list[Membership]:
        return self.memberships.get(account, [])

    def send_order(self) -> Iterator[SimEvent]:
        held = {e.event_id for e in self.late}
        yield from (e for e in self.events if e.event_id not in held)
        yield from self.duplicates
        yield from self.late


@dataclass
class _Gen:
    rng: random.Random
    seed: int
    period: Period
    events: list[SimEvent] = field(default_factory=list)
    n: int = 0

    def add(self, metric: str, qty: Decimal | int, user: str, org: str | None, ts: datetime, **props: str) -> None:
        self.n += 1
        q = qty if isinstance(qty, Decimal) else Decimal(qty)
        self.events.append(SimEvent(f"sim{self.seed}-{self.n:07d}", metric, q, user, org, ts, props))

    def moment(self, day: datetime, busy: bool = True) -> datetime:
        """A time of ``day``: busier in the (UTC) afternoon when ``busy``."""
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0] if busy else self.rng.randrange(24)
        return day + timedelta(hours=hour, seconds=self.rng.randrange(3600))


# Daily rhythm: a smooth afternoon peak, quiet nights.
HOUR_WEIGHTS = [0.25 + math.exp(-(((h - 15) / 4.5) ** 2)) for h in range(24)]


def simulate(seed: int, period: Period, users: int = 1000, orgs: int = 50) -> Simulation:
    if users < 40 or orgs < 10:
        raise ValueError("simulate at least 40 users and 10 organizations")
    rng = random.Random(seed)
    g = _Gen(rng, seed, period)
    accounts, subs = _accounts(rng, period, users, orgs)
    memberships = {a.account_id: _members(a, period) for a in accounts if a.kind == "org"}
    addons, credits = _contract_extras(subs, period)
    intensity = {a.account_id: rng.lognormvariate(0, 0.6) for a in accounts}
    days = int((period.end - period.start) / timedelta(days=1))
    for a in accounts:
        _usage(g, a, intensity[a.account_id], days)
    g.events.sort(key=lambda e: (e.ts, e.event_id))
    dupes = rng.sample(g.events, k=len(g.events) // 100)
    early = [e for e in g.events if e.ts < period.start + timedelta(days=10)]
    late = rng.sample(early, k=max(1, len(early) // 300))
    return Simulation(seed, period, accounts, subs, g.events, dupes, late, MALFORMED, addons, credits, memberships)


#: The contracts of the first enterprise organizations (docs/rating.md "Contracts"): org-00 commits to $20,000 a
#: period (its charges fall short: a true-up) and holds prepaid credits; org-01 has its seats graduated on the
#: provisioned basis (members join and leave, ``_members``) and negotiated the advanced analytics add-on.
CONTRACTS: tuple[dict[str, object], ...] = (
    {"commitment": {"amount": "20000", "per": "period"}},
    {"seat_mode": "graduated", "seat_basis": "provisioned", "addons": {"advanced_analytics": "1500"}},
)
#: Members of org-01 who join on the 10th (they never use the platform: seats only on the provisioned basis).
NEWCOMERS = 4


def _members(a: Account, period: Period) -> list[Membership]:
    """Every organization's members joined a month before the period; org-01 gains ``NEWCOMERS`` on the 10th
    and loses two of its team on the 20th, so its most members at once is team + newcomers."""
    before = period.start - timedelta(days=30)
    spans = [Membership(user, before) for user in a.members]
    if a.account_id == "org-01":
        tenth, twentieth = period.start + timedelta(days=9), period.start + timedelta(days=19)
        spans = [Membership(m.user_id, before, twentieth) if i < 2 else m for i, m in enumerate(spans)]
        spans += [Membership(f"{a.account_id}-new-{i}", tenth) for i in range(NEWCOMERS)]
    return spans


def _contract_extras(
    subs: list[SubscriptionVersion], period: Period
) -> tuple[dict[str, list[AddonUse]], dict[str, list[CreditGrant]]]:
    """org-01's add-ons (a one-time setup, two training sessions, advanced analytics from the 12th, hours of
    custom development) and org-00's credit grants (a $5,000 prepaid grant paying part of the invoice, and one
    that expired before the period: nothing drawn)."""
    start = period.start
    accounts = {s.account_id for s in subs}
    addons, credits = {}, {}
    if "org-01" in accounts:
        addons["org-01"] = [
            AddonUse("white_label_setup", "one_time", start + timedelta(days=3, hours=9)),
            AddonUse("custom_ai_training", "one_time", start + timedelta(days=8), quantity=Decimal(2)),
            AddonUse("advanced_analytics", "recurring", start + timedelta(days=11, hours=6)),
            AddonUse(
                "custom_development",
                "hourly",
                start,
                hours=((start + timedelta(days=5), Decimal("6")), (start + timedelta(days=19), Decimal("3.5"))),
            ),
        ]
    if "org-00" in accounts:
        credits["org-00"] = [
            CreditGrant(
                "cg_demo_prepaid",
                "Prepaid usage",
                Decimal(5000),
                Decimal(5000),
                start - timedelta(days=10),
                start + timedelta(days=90),
            ),
            CreditGrant(
                "cg_demo_expired",
                "Pilot credit",
                Decimal(2000),
                Decimal(2000),
                start - timedelta(days=60),
                start - timedelta(days=1),
            ),
        ]
    return addons, credits


def _accounts(
    rng: random.Random, period: Period, users: int, orgs: int
) -> tuple[list[Account], list[SubscriptionVersion]]:
    start, end = period.start, period.end
    anchor = start.date()
    subs: list[SubscriptionVersion] = []
    version = [0]

    def sub(
        account: str,
        kind: Kind,
        tier: str,
        at: datetime,
        interval: str = "month",
        status: str = "active",
        contract: dict[str, object] | None = None,
    ) -> None:
        version[0] += 1
        subs.append(
            SubscriptionVersion.model_validate(
                {
                    "account_id": account,
                    "account_kind": kind,
                    "tier": tier,
                    "status": status,
                    "interval": interval,
                    "anchor": anchor,
                    "effective_from": at,
                    "version": version[0],
                    "stripe_customer_id": f"cus_{account}" if tier != "free" else None,
                    "contract": contract,
                }
            )
        )

    accounts: list[Account] = []
    n_ent, n_std = max(1, orgs // 5), max(1, orgs * 3 // 10)
    member_share = 0.6
    members = [f"user-{i:04d}" for i in range(int(users * member_share))]
    rng.shuffle(members)
    sizes = [30 if i < n_ent else 10 if i < n_ent + n_std else 6 for i in range(orgs)]
    scale = len(members) / sum(sizes)
    cursor = 0
    for i in range(orgs):
        org = f"org-{i:02d}"
        k = max(2, round(sizes[i] * scale)) if i < orgs - 1 else len(members) - cursor
        team = tuple(members[cursor : cursor + k])
        cursor += k
        tier = "enterprise" if i < n_ent else "standard" if i < n_ent + n_std else "free"
        interval = "year" if tier == "enterprise" else "month"
        accounts.append(Account(org, "org", f"{tier}-{interval}", team))
        sub(org, "org", tier, start, interval, contract=CONTRACTS[i] if i < min(n_ent, len(CONTRACTS)) else None)
    solo = [f"user-{i:04d}" for i in range(len(members), users)]
    plans = ["free"] * (len(solo) * 5 // 8) + ["standard-month"] * (len(solo) // 4)
    plans += ["standard-year"] * (len(solo) - len(plans))
    # The story: upgrades mid-period, one downgrade and one cancellation at the period end, one failed payment.
    plans[:10] = ["upgrade"] * 10
    std = [i for i, p in enumerate(plans) if p == "standard-month"]
    plans[std[0]], plans[std[1]], plans[std[2]] = "downgrade", "cancel", "payment-failed"
    for user, plan in zip(solo, plans, strict=True):
        accounts.append(Account(user, "user", plan))
        if plan == "free":
            continue  # no subscription: rated under the catalog's default tier
        if plan == "upgrade":
            sub(user, "user", "free", start)
            sub(user, "user", "standard", start + timedelta(days=rng.randint(6, 20), hours=rng.randrange(24)))
            continue
        sub(user, "user", "standard", start, "year" if plan == "standard-year" else "month")
        if plan == "downgrade":
            sub(user, "user", "free", end)
        elif plan == "cancel":
            sub(user, "user", "standard", end, status="canceled")
        elif plan == "payment-failed":
            sub(user, "user", "standard", start + timedelta(days=12), status="past_due")
    return accounts, subs


def _usage(g: _Gen, a: Account, intensity: float, days: int) -> None:
    rng, start = g.rng, g.period.start
    paid = not a.plan.startswith("free")
    people = a.members or (a.account_id,)
    org = a.account_id if a.kind == "org" else None
    # Calls a person makes on a weekday; a few heavy standard users run well past the included 100,000.
    per_day = (2500 if paid else 250) * intensity
    storage = Decimal(rng.randint(1, 40 if paid else 4))
    growth = Decimal(rng.randint(0, 30 if paid else 3)) / Decimal(days)
    for d in range(days):
        day = start + timedelta(days=d)
        weekend = day.weekday() >= 5
        rhythm = 0.4 if weekend else 1.0
        # Storage: one reading of the account twice a day, growing through the month.
        for half in (0, 12):
            storage += growth / 2
            g.add(
                Metric.STORAGE_GB, storage.quantize(Decimal("0.001")), people[0], org, day + timedelta(hours=half + 1)
            )
        for person in people:
            if rng.random() > (0.85 * rhythm if a.members else 0.9 * rhythm):
                continue
            if a.members:
                g.add(Metric.ACTIVE_USER, 1, person, org, g.moment(day))
            calls = per_day / max(1, len(people) // 3) * rhythm
            for _ in range(rng.randint(3, 7)):
                g.add(Metric.API_CALLS, max(1, int(rng.gauss(calls / 5, calls / 20))), person, org, g.moment(day))
            if paid or rng.random() < 0.01:  # a free user now and then tries AI anyway (flagged, never billed)
                for _ in range(rng.randint(1, 4)):
                    provider = rng.choice(list(PROVIDERS))
                    g.add(
                        Metric.AI_REQUESTS,
                        1,
                        person,
                        org,
                        g.moment(day),
                        provider=provider,
                        model=rng.choice(PROVIDERS[provider]),
                        input_tokens=str(rng.randint(200, 6000)),
                        output_tokens=str(rng.randint(50, 1500)),
                    )
            if paid and rng.random() < 0.3:
                g.add(Metric.PREMIUM_FEATURE, 1, person, org, g.moment(day), feature=rng.choice(FEATURES))
