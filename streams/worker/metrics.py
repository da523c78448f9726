"""Prometheus metrics of a worker, served on ``METERLINE_METRICS_PORT`` (names prefixed ``meterline_``)."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from sinks.errors import SinkError


class WorkerMetrics:
    """All counters and histograms of one worker, on their own registry (tests build several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records_in = Counter("meterline_records_in", "Kafka records read from usage.events", registry=r)
        self.events_in = Counter("meterline_events_in", "Usage events read (inside records)", registry=r)
        self.events_accepted = Counter("meterline_events_accepted", "Events forwarded to usage.accepted", registry=r)
        self.events_rejected = Counter(
            "meterline_events_rejected", "Events sent to the dead-letter topic", ["reason"], registry=r
        )
        self.events_duplicate = Counter(
            "meterline_events_duplicate", "Events dropped as duplicates of an earlier (source, event_id)", registry=r
        )
        self.batch_events = Histogram(
            "meterline_ingest_batch_events",
            "Events per ingest batch",
            buckets=(1, 10, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000),
            registry=r,
        )
        self.sink_rows = Counter("meterline_sink_rows", "Rows written to ClickHouse", ["table"], registry=r)
        self.sink_seconds = Histogram(
            "meterline_sink_write_seconds",
            "Latency of one ClickHouse insert",
            ["table"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.sink_errors = Counter(
            "meterline_sink_errors", "Failed ClickHouse inserts", ["table", "retriable"], registry=r
        )
        self.consumer_lag = Gauge(
            "meterline_consumer_lag", "Records behind the high watermark", ["topic", "partition"], registry=r
        )
        self.event_to_store_seconds = Histogram(
            "meterline_event_to_clickhouse_seconds",
            "From ingest acceptance to the raw event's ClickHouse write",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )

        self.rated_events = Counter("meterline_rated_events", "Events rated by the live stage", registry=r)
        self.alerts_raised = Counter("meterline_alerts", "Alerts raised", ["kind"], registry=r)
        self.rate_batch_events = Histogram(
            "meterline_rate_batch_events",
            "Events per live rating step",
            buckets=(10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 400_000),
            registry=r,
        )
        self.rated_lines = Counter(
            "meterline_rated_lines",
            "Provisional rated lines (and quota states) emitted: one per account, metric and step",
            registry=r,
        )
        self.event_to_quota_seconds = Histogram(
            "meterline_event_to_quota_seconds",
            "From an event's own time to its account's quota state being published",
            buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 10, 30, 60, 300),
            registry=r,
        )

        self.settlement_runs = Counter("meterline_settlement_runs", "Settlement runs", registry=r)
        self.settlement_leader = Gauge(
            "meterline_settlement_leader",
            "1 on the worker of its group that settles (it holds partition 0 of usage.accepted), else 0",
            registry=r,
        )
        self.settlement_failures = Counter(
            "meterline_settlement_failures", "Settlement or Stripe runs that failed (retried next run)", registry=r
        )
        self.budget_alerts = Counter(
            "meterline_budget_alerts", "Budget alerts sent after settlement (docs/forecasting.md)", registry=r
        )
        self.settled_windows = Counter(
            "meterline_settled_windows", "Account-hours recomputed by settlement", registry=r
        )
        self.settlement_seconds = Histogram(
            "meterline_settlement_seconds",
            "Duration of a settlement run",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.stripe_reports = Counter(
            "meterline_stripe_reports", "Stripe meter reports by outcome", ["outcome"], registry=r
        )
        self.settlement_differences = Counter(
            "meterline_settlement_differences",
            "Period totals where the live view and settlement disagree",
            ["metric"],
            registry=r,
        )

    def on_sink_write(self, table: str, rows: int, seconds: float) -> None:
        self.sink_rows.labels(table).inc(rows)
        self.sink_seconds.labels(table).observe(seconds)

    def on_sink_error(self, table: str, err: SinkError) -> None:
        self.sink_errors.labels(table, str(err.retriable).lower()).inc()

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP (a daemon thread; 0 disables)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)


def observe_many(histogram: Histogram, amounts: Iterable[float]) -> None:
    """``observe`` each amount, paying the histogram's lock once per bucket instead of once per amount
    (the live stage observes every event of a step: tens of thousands). Falls back to ``observe``
    if prometheus_client's internals ever change shape."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for a in amounts:
            histogram.observe(a)
        return
    tally: Tally[int] = Tally()
    s = 0.0
    for a in amounts:
        tally[bisect_left(bounds, a)] += 1  # the first bucket whose bound is >= a, as observe picks
        s += a
    for i, n in tally.items():
        buckets[i].inc(n)
    total.inc(s)


def observe_counted(histogram: Histogram, counted: Iterable[tuple[float, int]]) -> None:
    """``observe_many`` of ``(amount, times)`` pairs: the live stage counts its events per timestamp in C
    (many events of a step share a millisecond) and observes each distinct age once."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for a, n in counted:
            for _ in range(n):
                histogram.observe(a)
        return
    tally: Tally[int] = Tally()
    s = 0.0
    for a, n in counted:
        tally[bisect_left(bounds, a)] += n
        s += a * n
    for i, n in tally.items():
        buckets[i].inc(n)
    total.inc(s)


def read_metrics(port: int, host: str = "127.0.0.1") -> dict[str, float]:
    """A worker's metrics as ``{'name{labels}': value}``; empty while it does not answer yet."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as resp:
            lines = resp.read().decode().splitlines()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in lines:
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
