"""``meterline demo``: the main job on the local stack (see README)."""

from __future__ import annotations

import argparse
from typing import Any

from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run a worker, send sample usage, show what arrived",
        description="The main job on the local stack (start it first with `meterline stack up`, or use `make demo`): "
        "starts a worker, sends a day of sample usage with duplicates and malformed records through the SDK, "
        "waits until it is in ClickHouse, stops the worker, and prints what arrived and what was dead-lettered.",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(load_settings())
