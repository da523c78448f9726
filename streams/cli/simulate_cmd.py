"""``meterline simulate``: the demo's simulated month, generated from a seed and sent (or only described)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from streams.cli.demo_cmd import sim_args
from streams.cli.output import emit_json
from streams.settings import load_settings


def register(sub: Any) -> None:
    s: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="generate a month of platform usage from a seed and send it (or print its shape)",
        description="Generate the simulated platform of the demo for the usage period that ended at the last "
        "midnight UTC: subscriptions (free, standard monthly/annual, enterprise; upgrades, a downgrade, a "
        "cancellation, a failed payment) and usage with daily and weekly rhythms, AI requests, growing storage, "
        "premium features, duplicates, late events and malformed records. The same seed gives the same events. "
        "Publishes the subscriptions and sends the events to the configured Kafka, unless --dry-run.",
    )
    sim_args(s)
    s.add_argument("--dry-run", action="store_true", help="only print what would be sent")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from collections import Counter

    from deploy.demo.run import demo_period
    from deploy.demo.send import Progress, send_simulation
    from deploy.demo.simulate import simulate

    settings = load_settings()
    sim = simulate(args.seed, demo_period(datetime.now(UTC)), users=args.users, orgs=args.orgs)
    summary = {
        "period": sim.period.key,
        "period_start": sim.period.start.isoformat(),
        "accounts": len(sim.accounts),
        "subscription_versions": len(sim.subscriptions),
        "events": len(sim.events),
        "by_metric": dict(Counter(e.metric for e in sim.events)),
        "duplicates": len(sim.duplicates),
        "late": len(sim.late),
        "malformed": len(sim.malformed),
        # what a billing store would hold (the demo's settlement reads them; `meterline simulate` sends events only)
        "contracts": sorted(v.account_id for v in sim.subscriptions if v.contract is not None),
        "addons": sum(len(uses) for uses in sim.addons.values()),
        "credit_grants": sum(len(gs) for gs in sim.credits.values()),
        "sent": False,
    }
    if not args.dry_run:
        progress = Progress("sending", len(sim.events) + len(sim.duplicates))
        asyncio.run(send_simulation(settings, sim, progress.update))
        progress.done()
        summary["sent"] = True
    if args.json:
        emit_json(summary)
    else:
        for k, v in summary.items():
            print(f"{k:>22}: {v}")
    return 0
