"""deploy/prometheus's files as data, and the series names the code exports, for the alerting rules' tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts.test.yml"
RUNBOOK = ROOT / "docs" / "operations.md"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROMTOOL = Path("/usr/bin/promtool")
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")  # Debian's name for the alertmanager binary
AMTOOL = Path("/usr/bin/amtool")

# The series a metric family of each type is scraped as (prometheus_client's exposition of it).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load(ALERTS)["groups"] for rule in group["rules"]]


def exported_series() -> set[str]:
    """Every series name the worker, the HTTP ingest and the billing API export."""
    from streams.api.metrics import ApiMetrics
    from streams.api.outbox_metrics import OutboxGauges
    from streams.ingest.metrics import IngestMetrics
    from streams.worker.metrics import WorkerMetrics

    registries: list[CollectorRegistry] = [WorkerMetrics().registry, IngestMetrics().registry, ApiMetrics().registry]
    families = [family for registry in registries for family in registry.collect()]
    # the API's outbox gauges are read from its store at each scrape: their families as described
    families += OutboxGauges(sessionmaker(), lambda: datetime.now(UTC)).describe()
    return {family.name + suffix for family in families for suffix in SERIES_SUFFIXES[family.type]}
