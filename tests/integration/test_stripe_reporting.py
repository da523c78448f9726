"""Settled usage reported to Stripe meters: real chDB for settlement and the ledger, real HTTP to
stripe-mock through the ``stripe`` package. Every window is reported once; late usage of a reported
window is sent as an addition under the next identifier revision; invoiced tiers are not metered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from deploy.local.stripe_standin import StripeMeterStandIn
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.stripe.meter import StripeMeterReporter
from sinks.stripe.meter_summaries import StripeMeterSummaries
from streams.settings import Settings
from streams.settlement.job import stripe_client
from streams.settlement.reconcile import reconcile
from streams.settlement.stripe_reporting import UsageReporter
from tests.integration.test_settlement import DB, World

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
DAY = (NOW - timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)  # Stripe takes <= 35 days back
ANCHOR = date(DAY.year, DAY.month, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("chdb-report")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, DB, datetime.now(UTC))
    w = World(client)
    start = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC)
    w.subscribe("std-r", "standard", start, anchor=ANCHOR, customer="cus_std_r")
    w.subscribe("ent-r", "enterprise", start, kind="org", anchor=ANCHOR, customer="cus_ent_r")
    w.subscribe("nocus", "standard", start, anchor=ANCHOR)
    # 100,500 calls in one hour: 500 over standard's 100,000; 3 deep_research uses an hour later.
    w.insert(w.events("std-r", "api_calls", DAY, [50_000, 50_000, 500]))
    w.insert(w.events("std-r", "premium_feature", DAY + timedelta(hours=1), [1, 1, 1], feature="deep_research"))
    w.insert(w.events("ent-r", "api_calls", DAY, [2_000_000], user_id="e1"))
    w.insert(w.events("nocus", "api_calls", DAY, [100_007]))
    w.settle(DAY + timedelta(hours=3))
    yield w
    client.close()


@pytest.fixture(scope="module")
def stripe_side(stack: Settings) -> Iterator[Settings]:
    """stripe-mock behind a stand-in that remembers meter events (for Stripe's event summaries)."""
    with StripeMeterStandIn(stack.resolved_stripe_api_base) as standin:
        yield stack.model_copy(update={"stripe_api_base": standin.url})


def reporter(world: World, s: Settings) -> tuple[UsageReporter, ClickHouseReportLedger]:
    ledger = ClickHouseReportLedger(world.client, DB)
    meter = StripeMeterReporter(stripe_client(s), ledger, rate_per_second=50)
    return UsageReporter(world.store, ledger, meter, world.settler._catalog, world.registry.history), ledger


def acked(world: World) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in world.client.query(
            f"SELECT account_id, meter, value, identifier FROM {DB}.stripe_reports "
            "WHERE outcome = 'acknowledged' ORDER BY at"
        ).result_rows
    ]


def test_settled_windows_reported_once(world: World, stripe_side: Settings) -> None:
    rep, _ = reporter(world, stripe_side)
    run = rep.report(datetime.now(UTC))
    assert run.outcomes["acknowledged"] == 2
    assert run.no_customer == {"nocus"}  # standard but no Stripe customer: not reported, counted
    rows = acked(world)
    assert sorted((a, m, v) for a, m, v, _ in rows) == [
        ("std-r", "meterline_api_calls_overage", 500),
        ("std-r", "meterline_premium_deep_research", 3),
    ]  # enterprise is invoiced, not metered
    # A second run (or a restarted worker with a fresh ledger object) sends nothing.
    again, _ = reporter(world, stripe_side)
    assert again.report(datetime.now(UTC)).outcomes == {}
    assert len(acked(world)) == 2


def test_late_usage_of_a_reported_window_is_an_addition(world: World, stripe_side: Settings) -> None:
    world.insert(world.events("std-r", "api_calls", DAY + timedelta(minutes=30), [200]))
    world.settle(DAY + timedelta(hours=3))
    rep, _ = reporter(world, stripe_side)
    assert rep.report(datetime.now(UTC)).outcomes["acknowledged"] == 1
    rows = [r for r in acked(world) if r[1] == "meterline_api_calls_overage"]
    assert [r[2] for r in rows] == [500, 200]  # Stripe's meter sums 700 for the hour
    assert len({r[3] for r in rows}) == 2  # distinct identifiers: neither is deduplicated away
    assert rep.report(datetime.now(UTC)).outcomes == {}


def test_reconcile_clean_then_mismatch(world: World, stripe_side: Settings) -> None:
    def run() -> list[tuple[str, str, int, int, int, bool]]:
        rows = reconcile(
            world.store,
            StripeMeterSummaries(stripe_client(stripe_side)),
            world.settler._catalog,
            world.registry.history,
            world.registry.accounts(),
            DAY.strftime("%Y-%m"),
        )
        return [(r.account_id, r.meter, r.settled, r.reported, r.stripe, r.ok) for r in rows]

    assert run() == [
        ("std-r", "meterline_api_calls_overage", 700, 700, 700, True),
        ("std-r", "meterline_premium_deep_research", 3, 3, 3, True),
    ]
    # Late usage settled but not reported yet: reconcile says so.
    world.insert(world.events("std-r", "api_calls", DAY + timedelta(minutes=40), [50]))
    world.settle(DAY + timedelta(hours=3))
    assert run()[0] == ("std-r", "meterline_api_calls_overage", 750, 700, 700, False)
    reporter(world, stripe_side)[0].report(datetime.now(UTC))
    assert all(r[-1] for r in run())
