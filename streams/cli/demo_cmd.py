"""``meterline demo``: the main job on the local stack (see README); ``meterline simulate`` is in ``simulate_cmd``."""

from __future__ import annotations

import argparse
from typing import Any

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
    sim_args(p)
    p.set_defaults(func=_demo)


def sim_args(p: argparse.ArgumentParser) -> None:
    """The simulation's size and seed, shared by ``demo`` and ``simulate``."""
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same usage")
    p.add_argument("--users", type=int, default=1000, help="users (default 1000; at least 40)")
    p.add_argument("--orgs", type=int, default=50, help="organizations (default 50; at least 10)")


def _demo(args: argparse.Namespace) -> int:
    from deploy.demo.run import run_demo

    return run_demo(load_settings(), seed=args.seed, users=args.users, orgs=args.orgs)
