"""Runs one worker process: topics and tables ensured, agents wired, metrics served."""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP

from rating.catalog.loader import load_catalog
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.row_sink import RowSink
from streams import topics
from streams.ingest.agents import register_ingest
from streams.kafka.admin import ensure_topics
from streams.live.agent import register_rating, register_subscriptions
from streams.settings import Settings, connect_clickhouse
from streams.settlement.forecast_refresh import WORKER_PER_RUN
from streams.settlement.job import (
    ALL_ROLE_SETTLE_SHARE,
    build_forecast_refresh,
    build_settler,
    build_stripe_sync,
    register_settlement,
)
from streams.subscriptions.registry import SubscriptionRegistry
from streams.warehouse.agents import WarehouseSinks, register_sinks
from streams.worker.app import Wiring, build_wiring
from streams.worker.crash import EXIT_STORAGE, report_storage_problem, storage_problem
from streams.worker.lag import register_lag_report
from streams.worker.memory import tune_allocator

log = logging.getLogger(__name__)


def register_agents(w: Wiring, sinks: WarehouseSinks | None) -> None:
    """Declare the topics and attach the agents of the worker's role, and the lag report every worker runs."""
    app, s = w.app, w.settings
    events_topic = app.topic(s.topic(topics.EVENTS))
    accepted_topic = app.topic(s.topic(topics.ACCEPTED))
    dlq_topic = app.topic(s.topic(topics.EVENTS_DLQ))
    alerts_topic = app.topic(s.topic(topics.ALERTS))
    if w.ingest is not None:
        register_ingest(w, events_topic, accepted_topic, dlq_topic)
    if sinks is not None:
        register_sinks(w, sinks, accepted_topic, dlq_topic, alerts_topic)
    register_lag_report(w)


def prepare(settings: Settings) -> Wiring:
    """Create topics, apply ClickHouse migrations and wire the agents; does not start consuming."""
    asyncio.run(ensure_topics(settings))
    w = build_wiring(settings)
    catalog = load_catalog(settings.catalog_path)
    registry = SubscriptionRegistry()
    sinks = None
    if settings.worker_role in ("all", "sink"):
        client = connect_clickhouse(settings)
        migrate(client, settings.clickhouse_database, datetime.now(UTC))
        db, m = settings.clickhouse_database, w.metrics

        def sink(table: str, **kw: Any) -> RowSink:
            return RowSink(client, f"{db}.{table}", on_write=m.on_sink_write, on_error=m.on_sink_error, **kw)

        # Alerts and subscriptions carry RFC 3339 times, as their Kafka consumers expect.
        best_effort = {"date_time_input_format": "best_effort"}
        sinks = WarehouseSinks(
            events=sink("events"),
            rejected=sink("rejected_events"),
            alerts=sink("alerts", insert_settings=best_effort),
            rated=sink("rated_usage"),
            subscriptions=sink("subscriptions"),
        )
        # Beside live rating (one process, one interpreter lock) a run takes about half the time at most;
        # a sink-only worker settles at full speed.
        share = ALL_ROLE_SETTLE_SHARE if settings.worker_role == "all" else 1.0
        settler = build_settler(settings, client, catalog, registry, m, share=share)
        stripe_sync = build_stripe_sync(settings, client, catalog, registry) if settings.stripe_report else None
        # One worker of the group settles: the holder of partition 0 of usage.accepted (a sink or
        # all-role group always reads it). After a rebalance its new holder takes over.
        leader = TP(settings.topic(topics.ACCEPTED), 0)
        app = w.app
        after = build_forecast_refresh(settings, client, settler, registry, per_run=WORKER_PER_RUN)
        register_settlement(
            app,
            settler,
            stripe_sync,
            registry,
            settings,
            m,
            leads=lambda: leader in app.consumer.assignment(),
            after=after,
        )
    register_agents(w, sinks)
    register_subscriptions(w.app, settings, registry)
    if settings.worker_role in ("all", "rate"):
        register_rating(w.app, settings, catalog, registry, w.metrics)
    return w


def run_worker(settings: Settings, loglevel: str = "warning") -> int:
    """Block running the worker until SIGTERM/SIGINT; offsets of unfinished batches stay uncommitted."""
    tune_allocator()  # before the worker's threads and batches exist
    w = prepare(settings)
    w.metrics.serve(settings.metrics_port, settings.metrics_host)
    worker = faust.Worker(w.app, loglevel=loglevel, quiet=True)
    # The terminal spinner turns the root logger to DEBUG and costs 12-18 % CPU (docs/architecture.md §9).
    worker.spinner = None
    # Steps allocate hundreds of thousands of short-lived objects; with the default thresholds the
    # collector runs thousands of times a step. Freezing what setup built and collecting less often
    # took ~5-10 % off the live stage's time per event (bench/live_rating.py, profiled).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # faust exits the process through SystemExit
        problem = storage_problem(worker.crash_reason) if worker.crash_reason else None
        if problem is not None:  # e.g. a table store that cannot be opened on a full disk
            report_storage_problem(problem)
            return EXIT_STORAGE
        return int(exc.code or 0)
    finally:
        w.close()
    return 0
