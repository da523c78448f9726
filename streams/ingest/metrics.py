"""Prometheus metrics of the HTTP ingest, served on ``METERLINE_HTTP_INGEST_METRICS_PORT`` (its own port)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class IngestMetrics:
    """The ingest's counters on their own registry (alerts.yml and the dashboards read them by name)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.accepted = Counter("meterline_http_events_accepted", "Events accepted over HTTP", ["source"], registry=r)
        self.rejected = Counter(
            "meterline_http_events_rejected", "Events refused over HTTP", ["source", "reason"], registry=r
        )

    def on_result(self, source: str, n_ok: int, bad: dict[str, int]) -> None:
        self.accepted.labels(source).inc(n_ok)
        for reason, n in bad.items():
            self.rejected.labels(source, reason).inc(n)
