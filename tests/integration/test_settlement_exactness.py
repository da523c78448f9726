"""Issue 19, defects 1-3, against the real ClickHouse engine (chDB), with amounts worked out by hand
from the contract (docs/rating.md): seats are users with any usage event billed to the organization,
storage readings follow the billing-account rule at their own time, and settled rated lines of one
hour under two subscription versions both stay (docs/analytics.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest

from sinks.clickhouse.migrations import migrate
from streams.settlement.settler import period_of
from tests.support.settlement_world import SettlementWorld

pytestmark = pytest.mark.integration
DB = "stx"
SEPT = datetime(2026, 9, 1, tzinfo=UTC)
D = Decimal


def day(d: int, h: int = 0, m: int = 0) -> datetime:
    """September ``d``, ``h``:``m`` UTC."""
    return SEPT + timedelta(days=d - 1, hours=h, minutes=m)


class World(SettlementWorld):
    def __init__(self, client: Any) -> None:
        super().__init__(client, DB)

    def send(self, user: str, org: str | None, metric: str, at: datetime, quantity: int, **props: str) -> None:
        self.seq += 1
        row = {
            "event_id": f"x-{self.seq}",
            "account_id": org or user,  # the routing account
            "user_id": user,
            "org_id": org,
            "metric": metric,
            "quantity": str(quantity),
            "ts_ms": int(at.timestamp() * 1000),
            "properties": props,
            "source": "test",
        }
        self.client.raw_insert(f"{DB}.events", None, insert_block=orjson.dumps(row) + b"\n", fmt="JSONEachRow")

    def lines(self, account: str, key: str) -> dict[str, tuple[str, str]]:
        doc = self.settler.document(account, period_of(account, self.registry.history, key))
        assert doc is not None
        return {ln["code"]: (ln["quantity"], ln["amount"]) for ln in doc["lines"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("chdb-settle-exact")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client, DB, datetime.now(UTC))
    w = World(client)
    # Seats (defect 1): enterprise organizations, platform fee $10,000 in the anniversary period.
    # ent-calls: 150 users with API calls only, never a heartbeat.
    w.subscribe("ent-calls", "enterprise", SEPT, kind="org")
    for u in range(150):
        w.send(f"c{u}", "ent-calls", "api_calls", day(2, u % 24, u // 24), 10)
    # ent-101: 101 users with API calls; all but c100-x also send heartbeats.
    w.subscribe("ent-101", "enterprise", SEPT, kind="org")
    for u in range(101):
        w.send(f"x{u}", "ent-101", "api_calls", day(3, 9, u % 60), 1)
        if u != 100:
            w.send(f"x{u}", "ent-101", "active_user", day(3, 10, u % 60), 1)
    # ent-one: one user who stores a document and never sends a heartbeat.
    w.subscribe("ent-one", "enterprise", SEPT, kind="org")
    w.send("solo", "ent-one", "premium_feature", day(5, 8), 2, feature="document_analysis")

    # Storage (defect 2): st-u (standard, 50 GB included, $0.10 per GB-month over) holds 100 GB on
    # its own from Sept 1, then acts in org-b: a 40 GB reading on Sept 16 while org-b has no
    # subscription (billed to st-u), a 1,000 GB reading on Sept 26 once org-b is subscribed (Sept 21,
    # billed to org-b).
    w.subscribe("st-u", "standard", SEPT)
    w.subscribe("org-b", "standard", day(21), kind="org")
    w.send("st-u", None, "storage_gb", day(1), 100)
    w.send("st-u", "org-b", "storage_gb", day(16), 40)
    w.send("st-u", "org-b", "storage_gb", day(26), 1000)

    # Upgrade inside an hour (defect 3): free until Sept 10 12:30, then standard. 9,000 calls at
    # 12:10 (free), 100,500 at 12:40 (standard): 109,500 in the period, 9,500 over 100,000.
    w.subscribe("hr-up", "free", SEPT)
    w.subscribe("hr-up", "standard", day(10, 12, 30), version=2)
    w.send("hr-up", None, "api_calls", day(10, 12, 10), 9000)
    w.send("hr-up", None, "api_calls", day(10, 12, 40), 100_500)
    w.settle(datetime(2026, 10, 3, tzinfo=UTC))
    yield w
    client.close()


def test_seats_are_users_with_any_usage_billed_to_the_organization(world: World) -> None:
    # 150 seats → volume bracket 101-500 at $40: 150 x 40 = $6,000.
    assert world.lines("ent-calls", "2026-09")["seats"] == ("150", "6000.00")
    # 101 seats (one without a heartbeat) → all at $40: 101 x 40 = $4,040 (not 100 x $50).
    assert world.lines("ent-101", "2026-09")["seats"] == ("101", "4040.00")
    # One user, no heartbeat → 1 seat at $50.
    assert world.lines("ent-one", "2026-09")["seats"] == ("1", "50.00")


def test_analysts_seats_equal_the_invoice_seat_lines(world: World) -> None:
    seats = world.rows(
        f"SELECT account_id, period, seats FROM {DB}.v_seats WHERE account_id LIKE 'ent-%' ORDER BY account_id"
    )
    assert seats == [("ent-101", "2026-09", 101), ("ent-calls", "2026-09", 150), ("ent-one", "2026-09", 1)]
    settled = world.rows(
        f"SELECT account_id, toUInt64(sum(quantity)), toUInt64(max(period_to_date)) FROM {DB}.rated_usage FINAL "
        "WHERE kind = 'settled' AND metric = 'active_user' AND account_id LIKE 'ent-%' "
        "GROUP BY account_id ORDER BY account_id"
    )
    assert settled == [("ent-101", 101, 101), ("ent-calls", 150, 150), ("ent-one", 1, 1)]


def test_analysts_settled_totals_equal_the_invoices_usage_lines(world: World) -> None:
    """Per account: settled API-call and premium-feature amounts, and seats (for seat-priced periods),
    as an analyst sums them from rated_usage, against the September invoice's lines."""
    sql = (
        "SELECT account_id, metric, dimension, toString(sum(quantity)), toString(sum(amount)) "
        f"FROM {DB}.rated_usage FINAL WHERE kind = 'settled' AND period = '2026-09' "
        "GROUP BY account_id, metric, dimension"
    )
    settled: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
    for account, metric, dim, q, a in world.rows(sql):
        code = {"api_calls": "api_calls_overage", "active_user": "seats"}.get(metric, f"{metric}:{dim}")
        settled.setdefault(account, {})[code] = (D(q), D(a))
    for account in ("ent-calls", "ent-101", "ent-one", "st-u", "org-b", "hr-up"):
        lines = world.lines(account, "2026-09")
        for code, (q, a) in settled[account].items():
            if code == "seats" and "seats" in lines:
                assert D(lines[code][0]) == q, (account, code)
            elif code.startswith("premium_feature:") or code == "api_calls_overage":
                assert D(lines.get(code, ("0", "0"))[1]) == a.quantize(D("0.01")), (account, code)
    assert settled["ent-one"]["premium_feature:document_analysis"] == (D(2), D("0.1"))  # 2 x $0.05


def test_storage_follows_the_billing_account_at_each_readings_time(world: World) -> None:
    # st-u, September (30 days): 100 GB for 15 days, 40 GB for 15 days (the org-b reading of Sept 16;
    # the Sept 26 one belongs to org-b) → (1500 + 600) / 30 = 70 GB, 20 over → 20 x $0.10 = $2.00.
    assert world.lines("st-u", "2026-09")["storage_overage"] == ("20", "2.00")
    # org-b: 1,000 GB from Sept 26 within its stretch Sept 21 - Oct 1 (nothing carried in: the Sept 16
    # reading was st-u's) → 5,000 GB-days over the 30-day period = 166.67 GB, 116.67 over → $11.67.
    quantity, amount = world.lines("org-b", "2026-09")["storage_overage"]
    assert amount == "11.67" and D(quantity).quantize(D("0.0001")) == D("116.6667")
    # st-u, October: the last reading billed to st-u is still the 40 GB one → under 50 GB, no line.
    assert "storage_overage" not in world.lines("st-u", "2026-10")


def test_an_upgrade_inside_an_hour_keeps_both_settled_lines(world: World) -> None:
    def lines() -> list[tuple[Any, ...]]:
        return world.rows(
            "SELECT sub_version, tier, toString(quantity), toString(billable), toString(amount) "
            f"FROM {DB}.rated_usage FINAL WHERE kind = 'settled' AND account_id = 'hr-up' AND metric = 'api_calls' "
            "ORDER BY hour, sub_version"
        )

    # The same hour (Sept 10 12:00) under version 1 (free) and version 2 (standard).
    assert [(v, t, D(q), D(b), D(a)) for v, t, q, b, a in lines()] == [
        (1, "free", D(9000), D(0), D(0)),
        (2, "standard", D(100_500), D(9500), D("95")),
    ]
    # The analysts' settled totals equal the invoice's usage line.
    assert world.lines("hr-up", "2026-09")["api_calls_overage"] == ("9500", "95.00")
    # A late event re-opens the hour: re-settling replaces the lines, never duplicates them.
    world.send("hr-up", None, "api_calls", day(10, 12, 50), 10)
    world.settle(datetime(2026, 10, 3, tzinfo=UTC))
    got = [(v, D(q), D(a)) for v, _, q, _, a in lines()]
    assert got == [(1, D(9000), D(0)), (2, D(100_510), D("95.10"))]
    total = world.rows(
        f"SELECT toString(sum(quantity)) FROM {DB}.rated_usage FINAL "
        "WHERE kind = 'settled' AND account_id = 'hr-up' AND metric = 'api_calls'"
    )
    assert D(total[0][0]) == D(109_510)
