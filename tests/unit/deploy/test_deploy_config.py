"""deploy/ stays consistent with the code: every METERLINE_* variable it sets is a real setting."""

from __future__ import annotations

import json
import re
from pathlib import Path

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
KNOWN = {f"METERLINE_{name.upper()}" for name in Settings.model_fields}


def test_compose_and_dockerfile_use_only_known_settings() -> None:
    for path in ("deploy/compose.yaml", "deploy/Dockerfile"):
        used = set(re.findall(r"METERLINE_[A-Z_]+", (ROOT / path).read_text()))
        assert used, path
        assert used <= KNOWN, f"{path}: unknown settings {sorted(used - KNOWN)}"


def test_dashboard_queries_only_metrics_the_worker_exports() -> None:
    from streams.worker.metrics import WorkerMetrics

    exported = {m.name for m in WorkerMetrics().registry.collect()}
    dashboards = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    assert len(dashboards) >= 2  # ingest; rating, settlement and Stripe
    for path in dashboards:
        dash = json.loads(path.read_text())
        exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
        for name in set(re.findall(r"meterline_[a-z_]+", exprs)):
            base = re.sub(r"_(total|bucket|sum|count)$", "", name)
            assert base in exported, f"{path.name} uses {name}, not exported by the worker"


def test_readme_settings_exist() -> None:
    used = set(re.findall(r"METERLINE_[A-Z_]+", (ROOT / "README.md").read_text()))
    assert used <= KNOWN, sorted(used - KNOWN)
