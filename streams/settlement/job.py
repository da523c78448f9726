"""Settlement wired to the worker and the CLI: a ``Settler`` over the configured ClickHouse, catalog and
subscription histories, and the worker's timer that settles windows as their lateness allowance passes."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import stripe
from clickhouse_connect.driver.exceptions import Error as ClickHouseError

from rating.catalog.loader import Catalog
from rating.tax import load_tax_table
from sinks.clickhouse.forecasts import Forecasts
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.errors import SinkError
from sinks.stripe.client import stripe_client as new_stripe_client
from sinks.stripe.meter import StripeMeterReporter
from streams.settings import Settings
from streams.settlement.forecast_refresh import ForecastRefresh
from streams.settlement.pacing import Pacer
from streams.settlement.settler import Settler
from streams.settlement.stripe_invoicing import InvoicePusher
from streams.settlement.stripe_reporting import UsageReporter
from streams.settlement.taxes import store_taxes
from streams.store.addons import store_addons
from streams.store.credits import store_credit_alerts, store_credits
from streams.store.db import database_url, make_engine, sessions
from streams.store.memberships import store_memberships
from streams.subscriptions.registry import SubscriptionRegistry
from streams.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)

#: The share of wall time a settlement run may take in a ``--role all`` worker (streams/settlement/pacing.py).
ALL_ROLE_SETTLE_SHARE = 0.5


def store_sessions(settings: Settings) -> Any:
    """Sessions on the billing store of the settings (budgets, credits, notices)."""
    url = settings.api_database_url.get_secret_value() if settings.api_database_url else None
    return sessions(make_engine(database_url(settings.data_dir, url)))


def build_forecast_refresh(
    settings: Settings, client: Any, settler: Settler, registry: SubscriptionRegistry, *, per_run: int | None = None
) -> ForecastRefresh:
    """What runs after each settlement: forecasts into ClickHouse and budget alerts (docs/forecasting.md).
    ``per_run``: at most this many accounts a run (the worker's ``WORKER_PER_RUN``; a command does all)."""
    return ForecastRefresh(
        settler,
        registry.history,
        Forecasts(client, settings.clickhouse_database),
        store_sessions(settings),
        per_run=per_run,
    )


def build_settler(
    settings: Settings,
    client: Any,
    catalog: Catalog,
    registry: SubscriptionRegistry,
    metrics: WorkerMetrics | None = None,
    share: float = 1.0,
) -> Settler:
    """``share``: of the wall time a run may take (streams/settlement/pacing.py); below 1 it pauses between pieces."""

    def on_difference(account: str, period: str, metric: str, difference: Any) -> None:
        if metrics is not None:
            metrics.settlement_differences.labels(metric).inc()

    make = store_sessions(settings)
    taxes = None
    if settings.tax_table is not None:
        taxes = store_taxes(load_tax_table(settings.tax_table), make, registry.history)
    return Settler(
        SettlementStore(client, settings.clickhouse_database),
        catalog,
        registry.history,
        registry.accounts,
        grace=timedelta(hours=settings.settle_grace_hours),
        on_difference=on_difference,
        pacer=Pacer(share),
        taxes=taxes,
        addons=store_addons(make),
        credits=store_credits(make),
        on_credit_low=store_credit_alerts(make),
        members=store_memberships(make),
    )


def stripe_client(settings: Settings) -> stripe.StripeClient:
    """The Stripe client of the settings (``sinks.stripe.client``: no retries in the library)."""
    return new_stripe_client(settings.stripe_api_key.get_secret_value(), settings.resolved_stripe_api_base)


@dataclass(frozen=True, slots=True)
class StripeSync:
    """What goes to Stripe after each settlement: metered usage, then invoices of invoiced tiers."""

    reporter: UsageReporter
    pusher: InvoicePusher

    def run(self, now: datetime) -> Counter[str]:
        outcomes = Counter(self.reporter.report(now).outcomes)
        for outcome, n in self.pusher.push_due(now).items():
            outcomes[f"invoice_{outcome}"] += n
        return outcomes


def build_stripe_sync(settings: Settings, client: Any, catalog: Catalog, registry: SubscriptionRegistry) -> StripeSync:
    store = SettlementStore(client, settings.clickhouse_database)
    ledger = ClickHouseReportLedger(client, settings.clickhouse_database)
    stripe_api = stripe_client(settings)
    meter = StripeMeterReporter(stripe_api, ledger, rate_per_second=settings.stripe_rate_per_second)
    return StripeSync(
        UsageReporter(store, ledger, meter, catalog, registry.history, concurrency=settings.stripe_concurrency),
        InvoicePusher(
            stripe_api, store, ledger, catalog, registry.history, automatic_tax=settings.stripe_automatic_tax
        ),
    )


def default_until(settings: Settings, now: datetime) -> datetime:
    """The latest instant whose closed windows are due: now minus the lateness allowance."""
    return now - timedelta(seconds=settings.settle_lateness_seconds)


def register_settlement(
    app: faust.App,
    settler: Settler,
    stripe_sync: StripeSync | None,
    registry: SubscriptionRegistry,
    settings: Settings,
    metrics: WorkerMetrics,
    leads: Callable[[], bool],
    after: ForecastRefresh | None = None,
) -> None:
    """Settle (then report to Stripe) on a timer once the subscriptions are loaded; one run at a time,
    off the event loop. A Stripe outage only delays reports: they are retried on the next run.

    ``after``: run after each settlement on the accounts it touched (forecasts and budget alerts).

    ``leads``: whether this worker is the one of its group that settles now. Every worker of the group
    has the timer; settling is idempotent, so two runs at once (around a rebalance) are safe, but each
    worker settling every hour would repeat all the work (and its Stripe calls) once per worker.
    """

    async def settle_due() -> None:
        leading = leads()
        metrics.settlement_leader.set(1 if leading else 0)
        if not leading or not registry.ready.is_set():
            return
        now = datetime.now(UTC)
        started = asyncio.get_running_loop().time()
        try:
            result = await asyncio.to_thread(settler.settle, default_until(settings, now), now)
        except SinkError as exc:  # ClickHouse away: nothing was lost, the next run settles it
            metrics.settlement_failures.inc()
            log.error("settlement failed, retried at the next run: %s", exc)
            return
        metrics.settlement_runs.inc()
        metrics.settlement_seconds.observe(asyncio.get_running_loop().time() - started)
        metrics.settled_windows.inc(result.windows)
        if result.windows or result.finalized:
            log.info("settled %s", result.summary())
        if after is not None:
            try:
                refreshed = await asyncio.to_thread(after.run, result.accounts, result.until, now, daily=True)
            except (SinkError, ClickHouseError) as exc:  # refreshed at the next run
                log.error("forecast refresh failed, retried at the next run: %s", exc)
            else:
                metrics.budget_alerts.inc(len(refreshed.alerts))
                if refreshed.pending:
                    log.info("forecasts refreshed %s, %s left for the next runs", refreshed.forecast, refreshed.pending)
        if stripe_sync is not None:
            try:
                outcomes = await asyncio.to_thread(stripe_sync.run, now)
            except (SinkError, ClickHouseError) as exc:  # an outage delays reports; they are sent later
                metrics.settlement_failures.inc()
                log.error("Stripe reporting failed, retried at the next run: %s", exc)
                return
            for outcome, n in outcomes.items():
                metrics.stripe_reports.labels(outcome).inc(n)

    app.timer(settings.settle_interval_seconds)(settle_due)
