"""``meterline`` commands run as a user would, with a test's settings: their JSON answer (or their output)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from streams.settings import Settings
from tests.support.processes import settings_env


def cli(s: Settings, *args: str) -> Any:
    res = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        env=settings_env(s),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout) if "--json" in args else res.stdout


def quotas(s: Settings, account: str) -> dict[str, dict[str, Any]]:
    doc = cli(s, "quota", "show", "--account", account, "--json")
    return {q["metric"]: q for q in doc["quotas"]}
