"""The main job for a new user (``make demo``): a month of a simulated platform through the real pipeline.

Starts a ``meterline worker`` on the local stack, syncs the catalog to Stripe (stripe-mock), publishes
the simulation's subscriptions and sends its month of usage through the SDK (with duplicates, late
events and malformed records), waits for the worker to ingest, rate and store it, then settles and
closes the period, reports to Stripe, reconciles, checks every invoice line by line against invoices
computed independently from the contract (deploy/demo/independent_invoices.py), and prints and writes (HTML)
what came out.

Each run uses its own topics (``<prefix>demo.<run>.*``) and ClickHouse database (``demo_<run>``), so
runs never mix; the database name is printed for analysts' queries (docs/analytics.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from deploy.demo.expectation import expected_invoices
from deploy.demo.independent_invoices import Expected, compare
from deploy.demo.receivables import RECEIVABLE_HEADERS, billing_app_link, play_receivables
from deploy.demo.report import CONTRACT_HEADERS, TIER_HEADERS, TOP_INVOICE_HEADERS, gather, write_html
from deploy.demo.send import Progress, send_simulation
from deploy.demo.simulate import Simulation, simulate
from deploy.demo.worker import DemoWorker
from deploy.local.stripe_standin import StripeMeterStandIn
from rating.catalog.loader import Catalog, load_catalog
from rating.periods import Period, period_containing
from rating.settle import HistoryLookup
from sinks.clickhouse.settlement import SettlementStore
from sinks.stripe.catalog import sync_catalog
from sinks.stripe.meter_summaries import StripeMeterSummaries
from streams.cli.output import emit_table
from streams.kafka.admin import ensure_topics
from streams.settings import Settings, connect_clickhouse
from streams.settlement.job import build_stripe_sync, stripe_client
from streams.settlement.reconcile import reconcile
from streams.settlement.settler import Settler
from streams.subscriptions.registry import load_registry
from streams.topics import ACCEPTED, EVENTS, RATED, SUBSCRIPTIONS
from streams.worker.app import worker_dir


def demo_period(now: datetime) -> Period:
    """The month-long usage period that ended at the last midnight (UTC): closed, and young enough
    for ingestion (35 days) and Stripe (35 days back)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return period_containing(today.date(), today - timedelta(microseconds=1))


def demo_settings(base: Settings, run: str) -> Settings:
    return base.model_copy(
        update={
            "topic_prefix": f"{base.topic_prefix}demo.{run}.",
            "clickhouse_database": f"demo_{run}",
            "worker_id": f"demo-{run}",
            # stripe-mock on loopback takes far more than Stripe's test mode (~25 calls/s)
            "stripe_rate_per_second": 400.0,
            "stripe_concurrency": 8,  # the stripe package's connection pool holds 10
        }
    )


def _env(s: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "METERLINE_TOPIC_PREFIX": s.topic_prefix,
        "METERLINE_CLICKHOUSE_DATABASE": s.clickhouse_database,
        "METERLINE_WORKER_ID": s.worker_id,
        "METERLINE_DATA_DIR": str(s.data_dir),
        "METERLINE_METRICS_PORT": str(s.metrics_port),
        "METERLINE_STRIPE_API_BASE": s.resolved_stripe_api_base,
        # The demo settles and closes the period itself once everything is stored (``_close_and_report``): a
        # worker settling meanwhile would finalize periods that ended over a day ago (accounts anchored on the
        # 1st) with part of their usage, and leave the closing run only what was stored after its own run.
        "METERLINE_SETTLE_INTERVAL_SECONDS": "86400",
        "METERLINE_STRIPE_RATE_PER_SECOND": str(s.stripe_rate_per_second),
        "METERLINE_STRIPE_CONCURRENCY": str(s.stripe_concurrency),
    }


def _drained(metrics: dict[str, float], topics: tuple[str, ...], partitions: int = 0) -> bool:
    """Whether the worker reports no lag on ``topics`` (and, given ``partitions``, reports every partition)."""
    lags = [
        v for k, v in metrics.items() if k.startswith("meterline_consumer_lag{") and any(f'"{t}"' in k for t in topics)
    ]
    return len(lags) >= max(1, partitions * len(topics)) and all(v == 0 for v in lags)


def run_demo(base: Settings, *, seed: int = 7, users: int = 1000, orgs: int = 50) -> int:
    # stripe-mock keeps no state: a stand-in in front of it remembers meter events for reconcile.
    with StripeMeterStandIn(base.resolved_stripe_api_base) as standin:
        return _run(base.model_copy(update={"stripe_api_base": standin.url}), seed, users, orgs)


def _run(base: Settings, seed: int, users: int, orgs: int) -> int:
    run = uuid.uuid4().hex[:6]
    s = demo_settings(base, run)
    now = datetime.now(UTC)
    period = demo_period(now)
    print(f"demo {run}: usage period {period.start:%Y-%m-%d} .. {period.end:%Y-%m-%d}, seed {seed}")
    print(f"  Kafka {s.kafka_bootstrap} (topics {s.topic_prefix}*), ClickHouse {s.resolved_clickhouse_dsn}")
    asyncio.run(ensure_topics(s))
    catalog = load_catalog(s.catalog_path)
    report = sync_catalog(stripe_client(s), catalog.at(period.start))
    print(f"  Stripe catalog synced: {sum(1 for a in report.actions if a.outcome != 'unchanged')} objects written")

    sim = simulate(seed, period, users=users, orgs=orgs)
    print(
        f"  simulated {len(sim.accounts)} billing accounts ({users} users, {orgs} organizations), "
        f"{len(sim.events):,} events (+{len(sim.duplicates):,} duplicates, {len(sim.late):,} sent late, "
        f"{len(sim.malformed)} malformed records)"
    )
    worker = DemoWorker(_env(s), s.data_dir / f"demo-{run}-worker.log", s.metrics_port)
    try:
        worker.wait_for(lambda: "meterline_records_in_total" in worker.metrics(), 120, "the worker to start")
        sending = Progress("  sending   ", len(sim.events) + len(sim.duplicates))
        asyncio.run(send_simulation(s, sim, sending.update))
        print(f"  sent in {sending.done():.1f}s", flush=True)
        processing = Progress("  processing", len(sim.events))

        def caught_up() -> bool:
            m = worker.metrics()
            accepted = worker.accepted(m)
            processing.update(int(accepted))
            # After a restart the dead process's last reading may be behind what it accepted: then every
            # partition of usage.events consumed is the sign that ingest is done.
            ingested = accepted >= len(sim.events) or (
                worker.restarts > 0 and _drained(m, (s.topic(EVENTS),), s.topic_partitions)
            )
            return ingested and _drained(m, (s.topic(ACCEPTED), s.topic(RATED), s.topic(SUBSCRIPTIONS)))

        worker.wait_for(caught_up, 900, "the worker to ingest, rate and store everything")
        print(f"  ingested, rated and stored in {processing.done():.1f}s", flush=True)
    finally:
        worker.stop()
    shutil.rmtree(worker_dir(s), ignore_errors=True)  # this run's dedupe store and Faust tables
    return _close_and_report(s, sim, now)


def _close_and_report(s: Settings, sim: Simulation, now: datetime) -> int:
    registry = asyncio.run(load_registry(s.kafka_bootstrap, s.topic(SUBSCRIPTIONS)))
    client = connect_clickhouse(s)
    catalog = load_catalog(s.catalog_path)
    store = SettlementStore(client, s.clickhouse_database)
    settler = closing_settler(store, catalog, registry.history, registry.accounts, sim)
    t0 = time.monotonic()
    result = settler.settle(now, datetime.now(UTC))  # every event stored by now is visible
    print(f"  settled and closed the period in {time.monotonic() - t0:.1f}s: {len(result.finalized)} invoices final")
    t0 = time.monotonic()
    outcomes = build_stripe_sync(s, client, catalog, registry).run(now)
    print(f"  Stripe: {dict(outcomes)} in {time.monotonic() - t0:.1f}s")
    summaries = StripeMeterSummaries(stripe_client(s))
    rows = reconcile(store, summaries, catalog, registry.history, registry.accounts(), sim.period.key)
    expected = expected_invoices(sim, s.catalog_path)
    mismatched = _check_invoices(settler, expected)

    facts = gather(client, s.clickhouse_database, sim.period)
    facts.reconcile = [r.to_document() for r in rows]
    orgs = {a.account_id: a.members[0] for a in sim.accounts if a.kind == "org" and a.members}
    facts.receivables = play_receivables(s, client, catalog, sim.period, orgs, now)
    print("\nper tier (invoices of the period; AI cost from the catalog's provider prices):")
    emit_table(TIER_HEADERS, [t.cells() for t in facts.tiers])
    print("\nthe five largest invoices:")
    emit_table(TOP_INVOICE_HEADERS, facts.top_invoice_cells())
    print("\nenterprise contracts: add-ons, commitment true-ups, credits drawn, provisioned seats:")
    emit_table(CONTRACT_HEADERS, facts.contract_cells())
    print("\nsent to the dead-letter topic, and why:")
    emit_table(["reason", "records", "example"], facts.dead_letters)
    print("\nreported to Stripe (acknowledged):")
    emit_table(["meter", "reports", "units"], facts.stripe)
    print("\nreceivables after two months of collection (deploy/demo/receivables.py):")
    emit_table(RECEIVABLE_HEADERS, facts.receivables.status_cells())
    for day, what in facts.receivables.timeline():
        print(f"  {day}  {what}")
    print(f"  {facts.receivables.emails} notices sent to the stack's SMTP server ({facts.receivables.maildir})")
    clean = all(r.ok for r in rows)
    print(f"\nreconcile {sim.period.key}: {len(rows)} account meters, " + ("clean" if clean else "MISMATCH"))
    for r in rows:
        if not r.ok:
            print(f"  {r.account_id} {r.meter}: settled {r.settled}, reported {r.reported}, stripe {r.stripe}")
    total = len(expected)
    print(f"invoices equal, line by line, to an independent reading of the contract: {total - mismatched}/{total}")
    path = write_html(facts, s.data_dir / "demo" / f"report-{s.clickhouse_database}.html")
    print(f"\nHTML report: {path.resolve()}")
    if facts.receivables.owners:
        org = min(facts.receivables.owners)
        serve, link = billing_app_link(s, facts.receivables, org, datetime.now(UTC))
        print(f"billing app on this run's data ({org}, as its owner {facts.receivables.owners[org]}):")
        print(f"  {serve}")
        print(f"  then open, within {s.api_login_link_ttl_seconds // 60} minutes, once: {link}")
    print(f"analysts: the run's tables are in ClickHouse database {s.clickhouse_database} (docs/analytics.md)")
    return 0 if clean and not mismatched else 1


def closing_settler(
    store: SettlementStore,
    catalog: Catalog,
    histories: HistoryLookup,
    subscribed: Callable[[], Iterable[str]],
    sim: Simulation,
) -> Settler:
    """Settlement of the simulated month once the worker has stopped: nothing is in flight, so every stored event
    is visible (no margin), the period that ended at midnight is closed now (no grace), and the simulation serves
    what a billing store would (add-ons, credit grants, memberships)."""
    return Settler(
        store,
        catalog,
        histories,
        subscribed,
        grace=timedelta(0),
        visibility_margin=timedelta(0),
        addons=sim.addon_quantities,
        credits=sim.credit_grants,
        members=sim.members_of,
    )


def _check_invoices(settler: Settler, expected: list[Expected]) -> int:
    """The month's invoices against the independent expectation (deploy/demo/expectation.py), line by line."""
    mismatched = 0
    for want in expected:
        problems = compare(want, settler.document(want.account_id, Period(want.start, want.end)))
        if problems:
            mismatched += 1
            print(f"  invoice mismatch {want.account_id} {want.key}: " + "; ".join(problems))
    return mismatched
