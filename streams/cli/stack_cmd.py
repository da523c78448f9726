"""``meterline stack``: install, start, stop and inspect the local stack (Kafka, stripe-mock)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "stack",
        help="the local stack: Kafka, stripe-mock, the warehouse bridge and SMTP on 127.0.0.1",
        description="Manage the local single-node stack: Apache Kafka (KRaft, jars from Maven Central), "
        "stripe-mock (built with go install), the warehouse bridge that serves the chDB directory over "
        "ClickHouse's HTTP interface, and an SMTP server (aiosmtpd) keeping notices in var/smtp/maildir.",
    )
    ssub = p.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    i = ssub.add_parser(
        "install",
        help="download the Kafka jars and build stripe-mock into the cache",
        description="Fetch everything the stack needs into METERLINE_CACHE_DIR (idempotent).",
    )
    i.set_defaults(func=_install)
    u = ssub.add_parser(
        "up",
        help="start what is not running (idempotent, fast when up)",
        description="Install what is missing, start each component and wait until it answers a real "
        "client call. Fails with the component's last log lines if it does not become ready.",
    )
    u.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness (default 90)")
    u.add_argument("--json", action="store_true", help="print the status as JSON")
    u.set_defaults(func=_up)
    d = ssub.add_parser("down", help="stop every component", description="Stop the stack's processes.")
    d.set_defaults(func=_down)
    s = ssub.add_parser(
        "status",
        help="show what runs; exit 1 if something is down",
        description="Show each component's state; exit status 1 if any is not running.",
    )
    s.add_argument("--json", action="store_true", help="print the status as JSON")
    s.set_defaults(func=_status)


def _install(args: argparse.Namespace) -> int:
    from deploy.local import stack

    stack.install(load_settings())
    print("stack: Kafka jars and stripe-mock are installed")
    return 0


def _show(statuses: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json({"components": [asdict(s) for s in statuses]})
    else:
        emit_table(
            ["component", "state", "pid", "address", "detail"],
            [[s.name, "running" if s.running else "stopped", s.pid or "-", s.address, s.detail] for s in statuses],
        )


def _up(args: argparse.Namespace) -> int:
    from deploy.local import stack

    _show(stack.up(load_settings(), timeout=args.timeout), args.json)
    return 0


def _down(args: argparse.Namespace) -> int:
    from deploy.local import stack

    stopped = stack.down(load_settings())
    print("stack: stopped " + (", ".join(stopped) if stopped else "nothing (it was not running)"))
    return 0


def _status(args: argparse.Namespace) -> int:
    from deploy.local import stack

    statuses = stack.status(load_settings())
    _show(statuses, args.json)
    return 0 if stack.all_running(statuses) else 1
