"""Runs one worker process: topics and tables ensured, agents wired, metrics served."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import faust

from rating.catalog.loader import load_catalog
from sinks.clickhouse import RowSink
from sinks.clickhouse_client import connect_clickhouse
from sinks.migrations import migrate
from streams.agents import register_agents
from streams.app import Wiring, build_wiring
from streams.kafka_admin import ensure_topics
from streams.rate_agent import register_rating
from streams.settings import Settings
from streams.subscription_registry import SubscriptionRegistry

log = logging.getLogger(__name__)


def prepare(settings: Settings) -> Wiring:
    """Create topics, apply ClickHouse migrations and wire the agents; does not start consuming."""
    asyncio.run(ensure_topics(settings))
    w = build_wiring(settings)
    sinks = None
    if settings.worker_role in ("all", "sink"):
        client = connect_clickhouse(settings)
        migrate(client, settings.clickhouse_database, datetime.now(UTC))
        db, m = settings.clickhouse_database, w.metrics
        sinks = (
            RowSink(client, f"{db}.events", on_write=m.on_sink_write, on_error=m.on_sink_error),
            RowSink(client, f"{db}.rejected_events", on_write=m.on_sink_write, on_error=m.on_sink_error),
            # Alerts carry RFC 3339 times, as their Kafka consumers expect.
            RowSink(
                client,
                f"{db}.alerts",
                on_write=m.on_sink_write,
                on_error=m.on_sink_error,
                insert_settings={"date_time_input_format": "best_effort"},
            ),
        )
    register_agents(w, sinks)
    if settings.worker_role in ("all", "rate"):
        register_rating(w.app, settings, load_catalog(settings.catalog_path), SubscriptionRegistry(), w.metrics)
    return w


def run_worker(settings: Settings, loglevel: str = "warning") -> int:
    """Block running the worker until SIGTERM/SIGINT; offsets of unfinished batches stay uncommitted."""
    w = prepare(settings)
    w.metrics.serve(settings.metrics_port, settings.metrics_host)
    worker = faust.Worker(w.app, loglevel=loglevel, quiet=True)
    # The terminal spinner turns the root logger to DEBUG and costs 12-18 % CPU (DESIGN §9).
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # faust exits the process through SystemExit
        return int(exc.code or 0)
    finally:
        w.close()
    return 0
