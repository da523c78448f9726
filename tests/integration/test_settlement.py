"""Settlement against the real ClickHouse engine (chDB): events in, usage_hourly / rated_usage /
invoices out, with amounts worked out by hand here (docs/architecture.md §5 catalog)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from rating.catalog.loader import load_catalog
from rating.catalog.model import Commitment, ContractOverrides
from rating.subscriptions import SubscriptionVersion
from sinks.clickhouse.migrations import migrate
from streams.settlement import settler as settlement
from streams.settlement.pacing import Pacer
from streams.settlement.settler import Settler, period_of
from tests.support.settlement_world import SettlementWorld

pytestmark = pytest.mark.integration
DB = "st"
SEPT = datetime(2026, 9, 1, tzinfo=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class World(SettlementWorld):
    def __init__(self, client: Any) -> None:
        super().__init__(client, DB)

    def events(
        self, account: str, metric: str, at: datetime, quantities: list[int], user_id: str = "", **props: str
    ) -> list[bytes]:
        rows = []
        for i, q in enumerate(quantities):
            self.seq += 1
            rows.append(
                orjson.dumps(
                    {
                        "event_id": f"{account}-{metric}-{self.seq}",
                        "account_id": account,
                        "user_id": user_id or account,
                        "org_id": account if user_id else None,  # a user's event inside an organization
                        "metric": metric,
                        "quantity": str(q),
                        "ts_ms": _ms(at) + i * 1000,
                        "properties": props,
                        "source": "test",
                    }
                )
            )
        return rows

    def insert(self, rows: list[bytes]) -> None:
        self.client.raw_insert(f"{DB}.events", None, insert_block=b"\n".join(rows) + b"\n", fmt="JSONEachRow")

    def invoice(self, account: str, key: str) -> dict[str, Any]:
        doc = self.settler.document(account, period_of(account, self.registry.history, key))
        assert doc is not None
        return doc

    def count(self, sql: str) -> Any:
        return self.client.query(sql).result_rows[0][0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("chdb-settle")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, DB, datetime.now(UTC))
    w = World(client)
    # std-1: standard from Sept 1; 123,456 API calls in September, sent twice (a replay).
    w.subscribe("std-1", "standard", SEPT)
    rows = w.events("std-1", "api_calls", SEPT + timedelta(days=3, hours=5), [1000] * 123 + [456])
    w.insert(rows)
    w.insert(rows[:60])
    # up-1: free until Sept 16, then standard: 8,000 calls before, 100,000 after.
    w.subscribe("up-1", "free", SEPT)
    w.subscribe("up-1", "standard", datetime(2026, 9, 16, tzinfo=UTC), version=2)
    w.insert(w.events("up-1", "api_calls", datetime(2026, 9, 10, 8, tzinfo=UTC), [4000, 4000]))
    w.insert(w.events("up-1", "api_calls", datetime(2026, 9, 20, 8, tzinfo=UTC), [50000, 50000]))
    # ent-1: enterprise org, 150 active users, premium features, AI requests.
    w.subscribe("ent-1", "enterprise", SEPT, kind="org")
    for u in range(150):
        w.insert(w.events("ent-1", "active_user", SEPT + timedelta(days=2, minutes=u), [1], user_id=f"eu-{u}"))
    # free-1: no subscription; 12,000 calls (2,000 over the hard cap: flagged, never billed).
    w.insert(w.events("free-1", "api_calls", SEPT + timedelta(days=5), [6000, 6000]))
    yield w
    client.close()


def test_settles_closed_hours_and_finalizes_september(world: World) -> None:
    r = world.settle(datetime(2026, 10, 3, tzinfo=UTC))
    assert r.windows > 0
    assert len(r.finalized) == 4
    total = world.count(f"SELECT toString(sum(quantity)) FROM {DB}.usage_hourly FINAL WHERE account_id = 'std-1'")
    assert Decimal(total) == Decimal(123_456)  # the replayed 60 events count once

    std = world.invoice("std-1", "2026-09")
    assert std["status"] == "final"
    lines = {ln["code"]: ln["amount"] for ln in std["lines"]}
    # 49.99 base + (123,456 - 100,000) x $0.01 = 49.99 + 234.56
    assert lines == {"base_fee": "49.99", "api_calls_overage": "234.56"}
    assert std["total"] == "284.55"

    up = world.invoice("up-1", "2026-09")
    lines = {ln["code"]: ln["amount"] for ln in up["lines"]}
    # Upgrade on Sept 16: 15 of 30 days left → 49.99 x 15/30 = 24.995 → 25.00 (half-even on the cent).
    # 108,000 calls in the period, 100,000 included by standard → 8,000 x $0.01 = $80.00.
    assert lines == {"base_fee_proration": "25.00", "api_calls_overage": "80.00"}
    assert up["total"] == "105.00"

    ent = world.invoice("ent-1", "2026-09")
    lines = {ln["code"]: ln["amount"] for ln in ent["lines"]}
    # Platform fee $10,000/year in the anniversary period; 150 seats → volume tier 101-500 at $40.
    assert lines == {"platform_fee": "10000.00", "seats": "6000.00"}

    free = world.invoice("free-1", "2026-09")
    assert free["total"] == "0.00" and free["lines"] == []


def test_settled_lines_add_up_to_the_invoice(world: World) -> None:
    amount = world.count(
        f"SELECT toString(sum(amount)) FROM {DB}.rated_usage FINAL "
        "WHERE account_id = 'std-1' AND kind = 'settled' AND metric = 'api_calls'"
    )
    assert Decimal(amount) == Decimal("234.56")


def test_settling_twice_changes_nothing(world: World) -> None:
    def snapshot() -> tuple[Any, ...]:
        return (
            world.count(f"SELECT toString(sum(quantity)) FROM {DB}.usage_hourly FINAL"),
            world.count(f"SELECT count() FROM {DB}.usage_hourly FINAL"),
            world.count(f"SELECT toString(sum(amount)) FROM {DB}.rated_usage FINAL WHERE kind = 'settled'"),
            world.count(f"SELECT count() FROM {DB}.invoices FINAL"),
            world.count(f"SELECT toString(sum(total)) FROM {DB}.invoices FINAL"),
            world.count(f"SELECT count() FROM {DB}.invoice_corrections FINAL"),
        )

    before = snapshot()
    r = world.settle(datetime(2026, 10, 3, tzinfo=UTC))
    assert r.windows == 0 and r.finalized == [] and r.corrections == 0
    assert snapshot() == before


def test_late_event_becomes_a_correction_of_the_next_period(world: World) -> None:
    # 1,000 more calls dated Sept 15 arrive after September was finalized.
    world.insert(world.events("std-1", "api_calls", datetime(2026, 9, 15, 12, tzinfo=UTC), [1000]))
    r = world.settle(datetime(2026, 10, 3, tzinfo=UTC))
    assert r.windows == 1 and r.corrections == 1
    sept = world.invoice("std-1", "2026-09")
    assert sept["total"] == "284.55"  # finalized invoices are never edited
    october = world.invoice("std-1", "2026-10")
    assert october["status"] == "draft"
    lines = {ln["code"]: (ln["quantity"], ln["unit_price"], ln["amount"]) for ln in october["lines"]}
    assert lines["correction:api_calls_overage"] == ("1000", "0.01", "10.00")  # 1,000 late calls x $0.01
    # Settling again does not carry it twice.
    assert world.settle(datetime(2026, 10, 3, tzinfo=UTC)).corrections == 0
    again = {ln["code"]: ln["amount"] for ln in world.invoice("std-1", "2026-10")["lines"]}
    assert again["correction:api_calls_overage"] == "10.00"


def test_hours_not_closed_are_not_settled(world: World) -> None:
    world.insert(world.events("std-1", "api_calls", datetime(2026, 10, 5, 10, 30, tzinfo=UTC), [7]))
    world.settle(datetime(2026, 10, 5, 10, 45, tzinfo=UTC))  # the 10:00 window is still open
    assert world.count(f"SELECT count() FROM {DB}.usage_hourly FINAL WHERE hour = '2026-10-05 10:00:00'") == 0
    world.settle(datetime(2026, 10, 5, 11, 0, tzinfo=UTC))
    assert world.count(f"SELECT count() FROM {DB}.usage_hourly FINAL WHERE hour = '2026-10-05 10:00:00'") == 1


def test_a_recomputed_hour_retracts_rows_it_no_longer_produces(world: World) -> None:
    # The hour is first settled while only the free version is known (the upgrade is published late) ...
    at = datetime(2026, 10, 20, 9, tzinfo=UTC)
    world.subscribe("late-sub", "free", datetime(2026, 10, 1, tzinfo=UTC), anchor=date(2026, 10, 1))
    world.insert(world.events("late-sub", "api_calls", at, [4000, 4000]))
    world.settle(datetime(2026, 10, 21, tzinfo=UTC))
    # ... then the upgrade (effective before that hour) arrives, and a late event re-opens the hour.
    world.subscribe("late-sub", "standard", datetime(2026, 10, 15, tzinfo=UTC), anchor=date(2026, 10, 1), version=2)
    world.insert(world.events("late-sub", "api_calls", at + timedelta(minutes=30), [1000]))
    world.settle(datetime(2026, 10, 21, tzinfo=UTC))
    rows = world.client.query(
        f"SELECT sub_version, toString(sum(quantity)), sum(events) FROM {DB}.usage_hourly FINAL "
        "WHERE account_id = 'late-sub' GROUP BY sub_version ORDER BY sub_version"
    ).result_rows
    assert [(v, Decimal(q), n) for v, q, n in rows] == [(1, Decimal(0), 0), (2, Decimal(9000), 3)]


def test_a_paced_run_recomputing_one_account_at_a_time_settles_the_same(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settlement, "RECOMPUTE_ACCOUNTS", 1)
    ticks = itertools.count()
    slept: list[float] = []
    pacer = Pacer(0.5, clock=lambda: float(next(ticks)), sleep=slept.append)
    paced = Settler(
        world.store,
        load_catalog(),
        world.registry.history,
        world.registry.accounts,
        visibility_margin=timedelta(0),
        pacer=pacer,
    )
    at = datetime(2026, 10, 25, 3, tzinfo=UTC)
    accounts = ["pace-1", "pace-2", "pace-3"]
    for i, account in enumerate(accounts):
        world.subscribe(account, "standard", SEPT)
        world.insert(world.events(account, "api_calls", at + timedelta(minutes=i), [7, 8 + i]))
    paced.settle(datetime(2026, 10, 26, tzinfo=UTC), datetime.now(UTC))
    rows = world.client.query(
        f"SELECT account_id, toString(sum(quantity)) FROM {DB}.usage_hourly FINAL "
        "WHERE account_id LIKE 'pace-%' GROUP BY account_id ORDER BY account_id"
    ).result_rows
    assert [(a, Decimal(q)) for a, q in rows] == [("pace-1", 15), ("pace-2", 16), ("pace-3", 17)]
    # A pause after each account's recompute (and each re-rate group): each as long as the piece (1 tick).
    assert len(slept) >= len(accounts) + 1 and set(slept) == {1.0}


def test_a_run_asked_for_less_than_is_settled_still_settles_what_was_stored_since(world: World) -> None:
    """``meterline settle --until`` behind the last run (here Sept 10, after runs to Oct 26): the late events
    stored since are settled all the same. 500 more calls of std-1 dated Sept 22, after September was finalized
    (std-1 is over its included 100,000): October's correction grows by 500 x $0.01 = $5.00, from 1,000 calls
    ($10.00, test_late_event_becomes_a_correction_of_the_next_period) to 1,500 ($15.00). Before, the run marked
    them seen without settling them (their hour was past its ``until``), and no later run read them again."""
    world.insert(world.events("std-1", "api_calls", datetime(2026, 9, 22, 7, tzinfo=UTC), [500]))
    world.settle(datetime(2026, 9, 10, tzinfo=UTC))
    world.settle(datetime(2026, 10, 26, tzinfo=UTC))
    october = world.invoice("std-1", "2026-10")
    lines = {ln["code"]: (ln["quantity"], ln["amount"]) for ln in october["lines"]}
    assert lines["correction:api_calls_overage"] == ("1500", "15.00")


def _committed_org(world: World, account: str, start: datetime, per_year: Decimal, months: tuple[int, ...]) -> None:
    """An enterprise organization from ``start``, anchored Dec 1, contract: platform fee $0 and ``per_year`` committed
    per contract year; 10 users (u0-u9) with an API call on the 5th of each of ``months`` of ``start``'s year."""
    world.registry.apply(
        [
            SubscriptionVersion(
                account_id=account,
                account_kind="org",
                tier="enterprise",
                anchor=date(start.year, 12, 1),
                effective_from=start,
                version=1,
                contract=ContractOverrides(
                    platform_fee={"year": Decimal(0)}, commitment=Commitment(amount=per_year, per="contract_year")
                ),
            )
        ]
    )
    for month in months:
        for u in range(10):
            world.insert(
                world.events(account, "api_calls", datetime(start.year, month, 5, 9, u, tzinfo=UTC), [1], f"u{u}")
            )


def test_a_contract_year_counts_its_own_usage_not_the_corrections_of_the_year_before(world: World) -> None:
    """yr-1, enterprise from Nov 1 2026 anchored Dec 1 (contract years Dec 1 - Dec 1), contract: platform fee $0,
    a $400 commitment per contract year. November (the last period of the year to Dec 1 2026): 10 users x $50 =
    $500 >= $400, no true-up. 20 deep_research uses of November arrive after it is final: +$10.00, carried by
    December, the first period of the next year. December: 10 users = $500. The next year's charges so far
    (what January's invoice counts toward its commitment) are December's own $500, not $510: November's usage is
    the year before's."""
    _committed_org(world, "yr-1", datetime(2026, 11, 1, tzinfo=UTC), Decimal(400), months=(11, 12))
    world.settle(datetime(2026, 12, 3, tzinfo=UTC))
    assert {ln["code"]: ln["amount"] for ln in world.invoice("yr-1", "2026-11")["lines"]} == {"seats": "500.00"}
    late = world.events(
        "yr-1", "premium_feature", datetime(2026, 11, 20, tzinfo=UTC), [20], "u0", feature="deep_research"
    )
    world.insert(late)
    assert world.settle(datetime(2026, 12, 3, tzinfo=UTC)).corrections == 1
    world.settle(datetime(2027, 1, 3, tzinfo=UTC))
    december = {ln["code"]: ln["amount"] for ln in world.invoice("yr-1", "2026-12")["lines"]}
    assert december == {"seats": "500.00", "correction:premium_feature:deep_research": "10.00"}
    january = period_of("yr-1", world.registry.history, "2027-01")
    inputs = world.settler.invoice_inputs("yr-1", january, until=january.start, history_from=january.start)
    assert inputs.charged_earlier_in_year == Decimal("500.00")


def test_late_usage_of_a_contract_year_after_its_true_up_corrects_the_true_up(world: World) -> None:
    """yr-2 (in 2027, after the runs before), enterprise from Oct 1 2027 anchored Dec 1 (the contract year ends
    Dec 1 2027), contract: platform fee $0, a $1,500 commitment per contract year. October: 10 users x $50 =
    $500; November (the year's last period): $500 and a true-up of 1,500 - 500 - 500 = $500. After both are
    final, 20 deep_research uses of October arrive: +$10.00 of October, and the year charged $1,010, so
    November's true-up would be $490: the next open invoice (January 2028: December is final too) carries
    correction:premium_feature:deep_research +$10.00 and correction:commitment_true_up -$10.00 - the year still
    costs exactly its $1,500."""
    _committed_org(world, "yr-2", datetime(2027, 10, 1, tzinfo=UTC), Decimal(1500), months=(10, 11))
    world.settle(datetime(2028, 1, 3, tzinfo=UTC))
    november = {ln["code"]: ln["amount"] for ln in world.invoice("yr-2", "2027-11")["lines"]}
    assert november == {"seats": "500.00", "commitment_true_up": "500.00"}
    late = datetime(2027, 10, 20, tzinfo=UTC)
    world.insert(world.events("yr-2", "premium_feature", late, [20], "u0", feature="deep_research"))
    assert world.settle(datetime(2028, 1, 3, tzinfo=UTC)).corrections == 2
    january = {ln["code"]: ln["amount"] for ln in world.invoice("yr-2", "2028-01")["lines"]}
    assert january == {"correction:premium_feature:deep_research": "10.00", "correction:commitment_true_up": "-10.00"}
    assert world.settle(datetime(2028, 1, 3, tzinfo=UTC)).corrections == 0  # settled twice: nothing more
