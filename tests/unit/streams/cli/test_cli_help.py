"""Every command and subcommand of `meterline` answers --help (issue: --help on every subcommand)."""

from __future__ import annotations

import argparse

import pytest

from streams.cli.main import build_parser, main


def _paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _paths(sub, (*prefix, name))
    return out


PATHS = _paths(build_parser())


def test_the_documented_commands_exist() -> None:
    for cmd in [
        ("stack", "up"),
        ("db", "migrate"),
        ("worker",),
        ("ingest", "serve"),
        ("schema", "export"),
        ("subscriptions", "put"),
        ("subscriptions", "link-stripe"),
        ("quota", "show"),
        ("stripe", "sync-catalog"),
        ("settle",),
        ("invoice", "preview"),
        ("reconcile",),
        ("demo",),
        ("simulate",),
    ]:
        assert cmd in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "meterline")
def test_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: meterline") and len(out.splitlines()) > 3
