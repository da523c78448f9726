"""docs/security.md's "Routes and their checks" names every route of the billing API, and nothing that is not one:
the next reviewer starts from a table that is true."""

from __future__ import annotations

import re
from pathlib import Path

from streams.api.app import ENDPOINTS

DOC = Path(__file__).resolve().parents[4] / "docs" / "security.md"
_ITEM = re.compile(r"`((?:[A-Z]+, )*[A-Z]+ )?(/api/billing[^`\s]*)`")


def documented_routes(text: str) -> set[str]:
    """``METHOD path`` of each route in the table's first column (an item without methods takes the previous)."""
    section = text.split("## Routes and their checks", 1)[1].split("\n## ", 1)[0]
    routes: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        methods: list[str] = []
        for found in _ITEM.finditer(line.split(" | ", 1)[0]):
            if found.group(1):
                methods = found.group(1).strip().split(", ")
            routes |= {f"{m} {found.group(2)}" for m in methods}
    return routes


def test_every_route_is_in_the_security_table() -> None:
    routes = {f"{e.method} {e.path}" for e in ENDPOINTS}
    documented = documented_routes(DOC.read_text())
    assert routes - documented == set(), "add these routes to docs/security.md, 'Routes and their checks'"
    assert documented - routes == set(), "docs/security.md names routes the API does not have"
