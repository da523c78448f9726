"""``meterline worker``: run a stream worker (ingest, dead-letter and ClickHouse sinks)."""

from __future__ import annotations

import argparse
from typing import Any

from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="run a stream worker until stopped",
        description=(
            "Run one Meterline worker: reads usage.events, validates and deduplicates, forwards to "
            "usage.accepted, dead-letters bad input, and writes raw and rejected events to ClickHouse. "
            "Run a second one with another --worker-id (and --metrics-port) to use a second core."
        ),
    )
    p.add_argument("--worker-id", help="this worker's name (default METERLINE_WORKER_ID or w1)")
    p.add_argument("--metrics-port", type=int, help="Prometheus port (default METERLINE_METRICS_PORT; 0: off)")
    p.add_argument(
        "--role",
        choices=["all", "ingest", "rate", "sink"],
        help="all (default): every agent; or split across processes (one per core): 'ingest' validates and "
        "routes, 'rate' keeps live usage, quotas and alerts, 'sink' writes ClickHouse",
    )
    p.add_argument("--loglevel", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from streams.worker.run import run_worker  # faust is slow to import: only for this command

    overrides: dict[str, object] = {}
    if args.worker_id:
        overrides["worker_id"] = args.worker_id
    if args.role:
        overrides["worker_role"] = args.role
    if args.metrics_port is not None:
        overrides["metrics_port"] = args.metrics_port
    return run_worker(load_settings(**overrides), loglevel=args.loglevel)
