"""``meterline audit prune``: drop audit log entries older than the retention period (docs/audit.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.cli.output import emit_json
from streams.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audit", help="the organizations' audit log", description="The organizations' audit log (docs/audit.md)."
    )
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    pr = asub.add_parser(
        "prune",
        help="delete entries older than the retention period",
        description="Delete the audit log entries older than METERLINE_AUDIT_RETENTION_DAYS (or --days): the only "
        "deletion the log's database triggers let through. Run it daily (cron, a systemd timer).",
    )
    pr.add_argument("--days", type=int, help="keep this many days instead of METERLINE_AUDIT_RETENTION_DAYS")
    pr.add_argument("--json", action="store_true", help="print the result as JSON")
    pr.set_defaults(func=_prune)


def _prune(args: argparse.Namespace) -> int:
    from streams.cli.api_cmd import _engine
    from streams.store import audit
    from streams.store.db import sessions

    settings = load_settings()
    days = args.days if args.days is not None else settings.audit_retention_days
    if days < 1:
        print("meterline: error: --days must be at least 1")
        return 2
    cutoff = datetime.now(UTC) - timedelta(days=days)
    engine = _engine(settings)
    try:
        with sessions(engine).begin() as s:
            deleted = audit.prune(s, cutoff)
    finally:
        engine.dispose()
    if args.json:
        emit_json({"cutoff": cutoff.isoformat(), "deleted": deleted})
    else:
        print(f"deleted {deleted} audit entries older than {cutoff.isoformat()}")
    return 0
