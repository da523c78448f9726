"""Settlement wired to the worker and the CLI: a ``Settler`` over the configured ClickHouse, catalog and
subscription histories, and the worker's timer that settles windows as their lateness allowance passes."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from rating.catalog.loader import Catalog
from sinks.settlement_store import SettlementStore
from streams.metrics import WorkerMetrics
from streams.settings import Settings
from streams.settlement import Settler
from streams.subscription_registry import SubscriptionRegistry

log = logging.getLogger(__name__)


def build_settler(
    settings: Settings,
    client: Any,
    catalog: Catalog,
    registry: SubscriptionRegistry,
    metrics: WorkerMetrics | None = None,
) -> Settler:
    def on_difference(account: str, period: str, metric: str, difference: Any) -> None:
        if metrics is not None:
            metrics.settlement_differences.labels(metric).inc()

    return Settler(
        SettlementStore(client, settings.clickhouse_database),
        catalog,
        registry.history,
        registry.accounts,
        grace=timedelta(hours=settings.settle_grace_hours),
        on_difference=on_difference,
    )


def default_until(settings: Settings, now: datetime) -> datetime:
    """The latest instant whose closed windows are due: now minus the lateness allowance."""
    return now - timedelta(seconds=settings.settle_lateness_seconds)


def register_settlement(
    app: faust.App, settler: Settler, registry: SubscriptionRegistry, settings: Settings, metrics: WorkerMetrics
) -> None:
    """Settle on a timer once the subscriptions are loaded; one run at a time, off the event loop."""

    async def settle_due() -> None:
        if not registry.ready.is_set():
            return
        now = datetime.now(UTC)
        started = asyncio.get_running_loop().time()
        result = await asyncio.to_thread(settler.settle, default_until(settings, now), now)
        metrics.settlement_runs.inc()
        metrics.settlement_seconds.observe(asyncio.get_running_loop().time() - started)
        metrics.settled_windows.inc(result.windows)
        if result.windows or result.finalized:
            log.info("settled %s", result.summary())

    app.timer(settings.settle_interval_seconds)(settle_due)
