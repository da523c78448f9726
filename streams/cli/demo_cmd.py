"""``meterline demo`` and ``meterline simulate``: the main job on the local stack (see README)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from streams.cli.output import emit_json
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="a simulated month through the whole pipeline, settled, invoiced, reported and reconciled",
        description="The main job on the local stack (start it first with `meterline stack up`, or use `make demo`): "
        "starts a worker, sends a month of simulated usage of about 1,000 users and 50 organizations (with "
        "duplicates, late events and malformed records) through the SDK, waits until it is ingested, rated and "
        "stored, settles and closes the period, reports to Stripe (stripe-mock), reconciles, checks every invoice "
        "line by line against an independent computation from the contract, prints a summary and writes an "
        "HTML report under <data_dir>/demo/. Exits 1 if reconciliation or an invoice check fails.",
    )
    _sim_args(p)
    p.set_defaults(func=_demo)

    s: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="generate a month of platform usage from a seed and send it (or print its shape)",
        description="Generate the simulated platform of the demo for the usage period that ended at the last "
        "midnight UTC: subscriptions (free, standard monthly/annual, enterprise; upgrades, a downgrade, a "
        "cancellation, a failed payment) and usage with daily and weekly rhythms, AI requests, growing storage, "
        "premium features, duplicates, late events and malformed records. The same seed gives the same events. "
        "Publishes the subscriptions and sends the events to the configured Kafka, unless --dry-run.",
    )
    _sim_args(s)
    s.add_argument("--dry-run", action="store_true", help="only print what would be sent")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=_simulate)


def _sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same usage")
    p.add_argument("--users", type=int, default=1000, help="users (default 1000; at least 40)")
    p.add_argument("--orgs", type=int, default=50, help="organizations (default 50; at least 10)")


def _demo(args: argparse.Namespace) -> int:
    from deploy.demo.run import run_demo

    return run_demo(load_settings(), seed=args.seed, users=args.users, orgs=args.orgs)


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
