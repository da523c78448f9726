"""``meterline schema export``: the JSON Schema of the usage event and the batch envelope."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "schema", help="the usage-event contract", description="The usage-event contract (docs/events.md)."
    )
    ssub = p.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    e = ssub.add_parser(
        "export",
        help="write the JSON Schema of a usage event and of the batch envelope",
        description="Write the JSON Schema (2020-12) that services in any language can validate against "
        'before they send: one usage event, or {"events": [...]}.',
    )
    e.add_argument("--out", type=Path, help="file to write (default: standard output)")
    e.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from schemas.json_schema import usage_event_schema

    text = orjson.dumps(usage_event_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if args.out:
        args.out.write_bytes(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(text)
    return 0
