"""The alerting rules under Prometheus's own tool: promtool checks the configuration and the rules, and runs
alerts.test.yml, where every alert fires on the situation it names (and a healthy system fires none)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.prometheus import ALERTS, ALERTS_TEST, CONFIG, PROMETHEUS, PROMTOOL


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"{PROMTOOL} is missing: `make prometheus-deps` installs Debian's prometheus")
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_configuration_is_valid_and_loads_the_rules() -> None:
    done = promtool("check", "config", CONFIG.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout


def test_the_rules_are_valid() -> None:
    done = promtool("check", "rules", ALERTS.name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_fires_on_its_situation() -> None:
    done = promtool("test", "rules", ALERTS_TEST.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_rule_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """A leader alert that only counts too many leaders misses the no-leader case: the tests must say so."""
    shutil.copy(ALERTS_TEST, tmp_path)
    rules = ALERTS.read_text()
    assert "sum(meterline_settlement_leader) != 1" in rules
    (tmp_path / ALERTS.name).write_text(
        rules.replace("sum(meterline_settlement_leader) != 1", "sum(meterline_settlement_leader) > 1")
    )
    done = promtool("test", "rules", ALERTS_TEST.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "no worker leads settlement" in done.stdout + done.stderr
