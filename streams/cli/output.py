"""How commands print: a human table or, with ``--json``, one machine-readable JSON document."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson


def emit_json(doc: Any) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def emit_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    text_rows = [[str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in text_rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in text_rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
