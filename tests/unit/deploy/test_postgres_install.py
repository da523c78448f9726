"""deploy.local.postgres installs Debian's server only when it is missing, only as root, and says the fix
otherwise (the real start-up is covered by tests/api, which run the store on it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from deploy.local import postgres
from deploy.local.errors import StackError

BIN = Path("/usr/lib/postgresql/99/bin")


def test_present_binaries_install_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "server_bin_dir", lambda: BIN)
    monkeypatch.setattr(postgres.procs, "run_checked", lambda *a, **k: pytest.fail("ran a command"))
    assert postgres.install_server() == BIN


def test_root_installs_with_apt_and_refreshes_the_lists_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    found: list[Path | None] = [None, BIN]
    ran: list[list[str]] = []

    def run(argv: Sequence[str], what: str, fix: str, **kw: Any) -> None:
        ran.append(list(argv))
        assert kw["env"]["DEBIAN_FRONTEND"] == "noninteractive"
        if len(ran) == 1:
            raise StackError("E: Unable to locate package postgresql")

    monkeypatch.setattr(postgres, "server_bin_dir", lambda: found.pop(0))
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 0)
    monkeypatch.setattr(postgres.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(postgres.procs, "run_checked", run)
    assert postgres.install_server() == BIN
    assert [a[:2] for a in ran] == [["apt-get", "install"], ["apt-get", "update"], ["apt-get", "install"]]
    assert "-y" in ran[0] and ran[0][-1] == "postgresql"


def test_without_root_the_error_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "server_bin_dir", lambda: None)
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 1000)
    with pytest.raises(StackError, match="apt-get install postgresql"):
        postgres.install_server()


def test_database_names_are_checked() -> None:
    server = postgres.PostgresServer(Path("/nonexistent"), port=0)
    with pytest.raises(ValueError, match="database name"):
        server.create_database('x"; DROP DATABASE y; --')
