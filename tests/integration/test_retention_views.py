"""The contract and retention views of ClickHouse migration 0017 (docs/analytics.md, "Contracts and retention")
on the real engine (chDB), with figures worked out by hand from their definitions; each ```sql block of that
section runs and returns them.

The world, November 2025 .. November 2026 (calendar periods, finalized invoices):
- s1: standard monthly, $49.99 every month;
- s2: standard monthly, $49.99 November 2025 .. May 2026, canceled on 2026-06-01;
- e1: an enterprise contract (yearly, anchor 2025-11-01): a $10,000 platform fee in November 2025 and November
  2026, seats $5,000 a month until October 2026, then $6,000, and in November 2026 a $2,000 add-on, a $1,000
  credit drawn and $150 carried forward from an invoice below zero;
- AI cost of s1's June 2026: $14.997."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import clickhouse_connect
import orjson
import pytest

from rating.invoice import Invoice, InvoiceLine
from rating.periods import Period
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.settlement import SettlementStore
from tests.integration.test_analytics_docs import BLOCKS

pytestmark = pytest.mark.integration
DB = "ret"
D = Decimal


def month(year: int, m: int) -> Period:
    end = datetime(year + m // 12, m % 12 + 1, 1, tzinfo=UTC)
    return Period(datetime(year, m, 1, tzinfo=UTC), end)


MONTHS = [month(2025, 11), month(2025, 12)] + [month(2026, m) for m in range(1, 12)]


def line(code: str, amount: str) -> InvoiceLine:
    return InvoiceLine(code, code, D(1), D(amount), D(amount))


def subscription(
    account: str, kind: str, tier: str, interval: str, at: datetime, version: int, **kw: str
) -> dict[str, Any]:
    return {
        "account_id": account,
        "account_kind": kind,
        "tier": tier,
        "status": kw.get("status", "active"),
        "interval": interval,
        "anchor": "2025-11-01",
        "effective_from": at.strftime("%Y-%m-%d %H:%M:%S.000"),
        "version": version,
        "stripe_customer_id": "",
        "stripe_subscription_id": "",
        "contract": kw.get("contract", ""),
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    c = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb-retention')}")
    migrate(c, DB, datetime(2026, 12, 2, tzinfo=UTC))
    start = MONTHS[0].start
    subs = [
        subscription("s1", "user", "standard", "month", start, 1),
        subscription("s2", "user", "standard", "month", start, 2),
        subscription("s2", "user", "standard", "month", datetime(2026, 6, 1, tzinfo=UTC), 3, status="canceled"),
        subscription("e1", "org", "enterprise", "year", start, 4, contract='{"minimum_seats": 100}'),
    ]
    body = b"\n".join(orjson.dumps(s) for s in subs)
    c.raw_insert(f"{DB}.subscriptions", None, insert_block=body, fmt="JSONEachRow")
    invoices: list[tuple[Invoice, str]] = []
    for i, p in enumerate(MONTHS):
        invoices.append((Invoice("s1", p, "final", (line("base_fee", "49.99"),)), "standard"))
        if p.start < datetime(2026, 6, 1, tzinfo=UTC):
            invoices.append((Invoice("s2", p, "final", (line("base_fee", "49.99"),)), "standard"))
        e1 = [line("seats", "5000")] if i < 12 else [line("seats", "6000"), line("addon:advanced_analytics", "2000")]
        if i in (0, 12):
            e1.insert(0, line("platform_fee", "10000"))
        if i == 12:  # a credit drawn, and what an earlier invoice was below zero carried here: neither a charge
            e1 += [line("credit:cg_1", "-1000"), line("carried_forward", "-150")]
        invoices.append((Invoice("e1", p, "final", tuple(e1)), "enterprise"))
    SettlementStore(c, DB).write_invoices(invoices, datetime(2026, 12, 2, tzinfo=UTC))
    ai = {
        "account_id": "s1",
        "routing_account": "s1",
        "user_id": "s1",
        "metric": "ai_requests",
        "dimension": "openai/gpt-4o",
        "hour": "2026-06-10 10:00:00",
        "sub_version": 1,
        "tier": "standard",
        "quantity": "30",
        "events": 30,
        "input_tokens": 1,
        "output_tokens": 1,
        "ai_cost": "14.997",
        "settled_at": "2026-12-02 00:00:00.000",
    }
    c.raw_insert(f"{DB}.usage_hourly", None, insert_block=orjson.dumps(ai), fmt="JSONEachRow")
    yield c


def run(client: Any, name: str) -> list[tuple[Any, ...]]:
    sql = dict(BLOCKS)[name]
    return [tuple(r) for r in client.query(re.sub(r"\bmeterline\.", f"{DB}.", sql)).result_rows]


def test_acv_per_contract_year(client: Any) -> None:
    # 2025-11 year: $10,000 + 12 x $5,000 x 12 / 12 = $70,000. 2026-11 (one period so far): $10,000 + ($6,000 +
    # $2,000) x 12 = $106,000 (the credit paid part of it: not a charge). s1 and s2 are no contracts.
    assert run(client, "v_acv#1") == [
        ("e1", "enterprise", datetime(2025, 11, 1).date(), 12, D("10000.00"), D("60000.00"), D("70000.00")),
        ("e1", "enterprise", datetime(2026, 11, 1).date(), 1, D("10000.00"), D("8000.00"), D("106000.00")),
    ]


def test_churn_by_tier(client: Any) -> None:
    # June 2026: 2 standard accounts had MRR in May ($99.98); s2 canceled on June 1st: 1/2 of the logos and
    # $49.99 / $99.98 of the revenue.
    assert run(client, "v_churn_by_tier#1") == [
        (datetime(2026, 6, 1).date(), "standard", 2, 1, 0.5, D("99.98"), D("49.99"), 0.5),
    ]


def test_net_revenue_retention(client: Any) -> None:
    # November 2026 against November 2025. standard: $99.98 then, s1's $49.99 now (s2 churned) -> 0.5.
    # enterprise: $10,000 / 12 + $5,000 = $5,833.333333 then; $10,000 / 12 + $6,000 = $6,833.333333 now -> 1.1714.
    rows = run(client, "v_nrr#1")
    assert rows == [
        (datetime(2026, 11, 1).date(), "enterprise", 1, D("5833.333333"), D("6833.333333"), 1.1714),
        (datetime(2026, 11, 1).date(), "standard", 2, D("99.98"), D("49.99"), 0.5),
    ]


def test_clv(client: Any) -> None:
    # standard, June 2026: ARPA $99.98 / 2 = $49.99. Revenue of the trailing twelve months' invoices: s1 8 x $49.99
    # + s2 7 x $49.99 = $749.85, AI cost $14.997 -> margin 0.98. Churn: v_churn_by_tier's standard months
    # 2025-12 .. 2026-06 hold 7 x 2 accounts and 1 churn -> 1/14 = 0.0714, a lifetime of 14 months.
    # CLV = 49.99 x 0.98 x 14 = $685.86. The enterprise tier never churned: no CLV (unbounded).
    assert run(client, "v_clv#1") == [
        (datetime(2026, 6, 1).date(), "enterprise", D("5833.33"), D("1"), 0.0, None, None),
        (datetime(2026, 6, 1).date(), "standard", D("49.99"), D("0.98"), 0.0714, 14.0, D("685.86")),
    ]
