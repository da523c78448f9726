"""A simulated year of daily usage for ``meterline forecast backtest``: reproducible from a seed, pure.

Daily API calls and premium feature uses per account, in the shapes real accounts take: flat, weekly
rhythm (business accounts quiet at weekends), steady growth or shrinkage, one-day spikes, level shifts
inside a period, and churn (usage stops mid-period and never returns). Free, standard and enterprise
(seat-priced) accounts on anchors across the month, at usage levels around their tier's included
quantities, so some invoices are base fees alone and others mostly overage.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from rating.forecast.backtest import AccountSeries

TIERS = (("free", 0.25), ("standard", 0.6), ("enterprise", 0.15))


def _tier(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for name, share in TIERS:
        acc += share
        if x < acc:
            return name
    return TIERS[-1][0]


def simulate_world(seed: int, accounts: int, start: date, days: int) -> list[AccountSeries]:
    rng = random.Random(seed)
    out = []
    for i in range(accounts):
        tier = _tier(rng)
        included_daily = {"free": 300.0, "standard": 3300.0, "enterprise": 33000.0}[tier]
        level = included_daily * math.exp(rng.gauss(0.1, 0.5))
        weekend = rng.uniform(0.15, 0.5) if rng.random() < 0.6 else 1.0
        monthly_growth = rng.gauss(0.0, 0.04) if rng.random() < 0.7 else rng.choice((-1, 1)) * rng.uniform(0.08, 0.2)
        noise = rng.uniform(0.08, 0.35)
        spike_p = rng.choice((0.0, 0.01, 0.03))
        shift_p = 0.003  # a day's chance that the level jumps for good
        churn_day = rng.randrange(days) if rng.random() < 0.1 else None
        premium = tier != "free" and rng.random() < 0.4
        calls: list[float] = []
        research: list[float] = []
        day0 = start
        for d in range(days):
            day = day0 + timedelta(days=d)
            if churn_day is not None and d >= churn_day:
                calls.append(0.0)
                research.append(0.0)
                continue
            if rng.random() < shift_p:
                level *= rng.uniform(0.5, 1.8)
            mean = level * (1 + monthly_growth) ** (d / 30.0) * (weekend if day.weekday() >= 5 else 1.0)
            x = mean * math.exp(rng.gauss(-noise * noise / 2, noise))
            if rng.random() < spike_p:
                x *= rng.uniform(3, 10)
            calls.append(float(round(x)))
            research.append(float(round(x / 400 * rng.uniform(0.5, 1.5))) if premium else 0.0)
        out.append(
            AccountSeries(
                account_id=f"fc-{seed}-{i:05d}",
                tier=tier,
                anchor=date(2026, 1, rng.randint(1, 28)),
                start=start,
                daily={"api_calls": calls, "premium_feature:deep_research": research},
                seats=rng.choice((20, 100, 150, 600)) if tier == "enterprise" else 0,
            )
        )
    return out
