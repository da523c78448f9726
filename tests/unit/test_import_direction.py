"""Imports point down the layers: schemas/ and rating/ at the bottom, sinks/ above them, streams/ above
sinks/, the CLI on top; deploy/ (the local stack and the demo) is loaded only by the CLI's commands.

Read from the source with ``ast``, so nothing is imported: an import inside a function (loaded when that
function runs) is told apart from one at module level. ``rating/`` must stay pure: no module it imports,
directly or through other modules of this repository, may be the SDK or an I/O library.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "rating", "sinks", "streams", "deploy")

#: What each top-level package may import from this repository (itself included).
MAY_IMPORT = {
    "schemas": {"schemas"},
    "rating": {"rating", "schemas"},
    "sinks": {"sinks", "rating", "schemas"},
    "streams": {"streams", "sinks", "rating", "schemas"},
    "deploy": set(PACKAGES),
}

#: Libraries that talk to the outside world (network, processes, databases); rating/ reaches none of them.
IO_LIBRARIES = {
    "aiokafka", "kafka", "faust", "mode", "clickhouse_connect", "chdb", "stripe", "sqlalchemy", "alembic",
    "psycopg", "starlette", "uvicorn", "httpx", "requests", "urllib.request", "http", "socket", "subprocess",
    "asyncio", "rocksdict", "prometheus_client", "anyio", "jwt",
}  # fmt: skip

#: Modules of schemas/ that rating/ may not use: the SDK (a Kafka producer) and Kafka's partitioner.
NOT_FOR_RATING = {"schemas.sdk", "schemas.partitioning"}

#: Imports that break a rule today, each with why it stays for now (printed by the test). Empty: keep it so.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (for ``from a.b import c``: ``a.b.c`` if that is a module, else ``a.b``)
    in_function: bool
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules(root: Path) -> dict[str, Path]:
    return {module_name(root, p): p for top in PACKAGES for p in sorted((root / top).rglob("*.py"))}


@cache
def imports_of(root: Path, mod: str) -> tuple[Import, ...]:
    known = modules(root)
    path = known[mod]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{mod}:{node.lineno}: relative import"
            base = node.module or ""
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        found += [Import(mod, t, id(node) in inside, node.lineno) for t in targets]
    return tuple(found)


def top(name: str) -> str:
    return name.split(".")[0]


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path = ROOT) -> list[tuple[Import, str]]:
    out = []
    for mod in modules(root):
        layer = top(mod)
        for imp in imports_of(root, mod):
            dest = top(imp.target)
            if dest not in PACKAGES:
                continue
            if dest not in MAY_IMPORT[layer]:
                # the CLI loads the local stack and the demo lazily, inside the command that needs them
                if not (dest == "deploy" and within(mod, "streams.cli") and imp.in_function):
                    out.append((imp, f"{layer}/ may not import {dest}/"))
            elif layer == "rating" and any(within(imp.target, m) for m in NOT_FOR_RATING):
                out.append((imp, "rating/ may use the event models, never the SDK or Kafka"))
            elif within(mod, "streams.store") and within(imp.target, "streams.api"):
                out.append((imp, "the store sits below the API"))
            elif within(imp.target, "streams.cli") and not within(mod, "streams.cli") and layer != "deploy":
                out.append((imp, "only deploy/ and the CLI itself may use the CLI"))
    return out


def io_reached_from(start: str, root: Path = ROOT) -> list[str]:
    """Chains from ``start`` through this repository's modules to an I/O library, e.g. ``a -> b -> stripe``."""
    known = modules(root)
    chains: list[str] = []
    seen: set[str] = set()
    stack = [(start, [start])]
    while stack:
        mod, chain = stack.pop()
        if mod in seen:
            continue
        seen.add(mod)
        for imp in imports_of(root, mod):
            if any(within(imp.target, lib) for lib in IO_LIBRARIES):
                chains.append(" -> ".join([*chain, imp.target]))
            # importing a.b.c runs a/__init__.py and a/b/__init__.py too: follow every module it loads
            for cand in known:
                if within(imp.target, cand) and cand != mod:
                    stack.append((cand, [*chain, cand]))
    return chains


def test_imports_point_down_the_layers() -> None:
    bad = []
    for imp, why in violations():
        where = f"{imp.module}:{imp.line} imports {imp.target}{' (in a function)' if imp.in_function else ''}"
        if (imp.module, imp.target) in ALLOWED:
            print(f"allowed: {where}: {why}; stays because {ALLOWED[imp.module, imp.target]}")
        else:
            bad.append(f"{where}: {why}")
    assert not bad, "\n".join(bad)


def test_allow_list_has_no_stale_entries() -> None:
    current = {(imp.module, imp.target) for imp, _ in violations()}
    assert not set(ALLOWED) - current, "remove the entries that no longer occur"


def test_rating_reaches_no_io_library() -> None:
    chains = [c for mod in modules(ROOT) if top(mod) == "rating" for c in io_reached_from(mod)]
    assert not chains, "\n".join(sorted(set(chains)))


def test_the_checker_finds_what_it_must_reject(tmp_path: Path) -> None:
    """A checker that finds nothing would pass the tests above: on a small tree, it finds each kind."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "schemas" / "sdk.py").write_text("import aiokafka\n")
    (tmp_path / "streams" / "store").mkdir()
    (tmp_path / "streams" / "store" / "__init__.py").write_text("")
    (tmp_path / "streams" / "store" / "db.py").write_text("from streams.api import thing\n")
    (tmp_path / "streams" / "api.py").write_text("")
    (tmp_path / "streams" / "cli.py").write_text("def run():\n    from deploy import demo\n")
    (tmp_path / "streams" / "runner.py").write_text("def run():\n    from deploy import demo\n")
    (tmp_path / "deploy" / "demo.py").write_text("from streams.cli import run\n")
    (tmp_path / "rating" / "rules.py").write_text(
        "from decimal import Decimal\nfrom schemas import sdk\n\ndef f():\n    from sinks import x\n"
    )
    found = {(i.module, i.target, i.in_function, why) for i, why in violations(tmp_path)}
    assert found == {
        ("rating.rules", "schemas.sdk", False, "rating/ may use the event models, never the SDK or Kafka"),
        ("rating.rules", "sinks", True, "rating/ may not import sinks/"),
        ("streams.store.db", "streams.api", False, "the store sits below the API"),
        ("streams.runner", "deploy.demo", True, "streams/ may not import deploy/"),
    }
    assert io_reached_from("rating.rules", tmp_path) == ["rating.rules -> schemas.sdk -> aiokafka"]
