"""The demo report's reads (``sinks/clickhouse/demo_queries.py``) on a real embedded chDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from deploy.demo.report import gather
from rating.periods import Period
from sinks.clickhouse.client import connect
from sinks.clickhouse.demo_queries import DemoQueries
from sinks.clickhouse.migrations import migrate
from sinks.errors import SinkRejected

DB = "demoq"
MAY = Period(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    c = connect(f"chdb://{Path(tmp_path_factory.mktemp('demoq')) / 'ch'}")
    migrate(c, DB, datetime.now(UTC))
    yield c
    c.close()


def test_database_name_must_be_an_identifier(client: Any) -> None:
    with pytest.raises(SinkRejected):
        DemoQueries(client, "x; DROP TABLE y")


def test_period_bound_as_parameters(client: Any) -> None:
    hour_cols = ["account_id", "metric", "hour", "quantity"]
    client.insert(
        f"{DB}.usage_hourly",
        [
            ["acc_a", "api_calls", datetime(2026, 4, 30, 23), Decimal(7)],  # before the period
            ["acc_a", "api_calls", datetime(2026, 5, 1, 0), Decimal(2)],
            ["acc_a", "api_calls", datetime(2026, 5, 31, 23), Decimal(3)],
            ["acc_a", "ai_requests", datetime(2026, 5, 2, 5), Decimal(4)],
            ["acc_a", "api_calls", datetime(2026, 6, 1, 0), Decimal(11)],  # after it
        ],
        column_names=hour_cols,
    )
    q = DemoQueries(client, DB)
    assert [(a, Decimal(c), Decimal(r)) for a, c, r, _ in q.usage_by_account(MAY.start, MAY.end)] == [
        ("acc_a", Decimal(5), Decimal(4))
    ]
    days = [(d.isoformat(), Decimal(c), Decimal(r)) for d, c, r in q.usage_by_day(MAY.start, MAY.end)]
    assert days == [("2026-05-01", 2, 0), ("2026-05-02", 0, 4), ("2026-05-31", 3, 0)]
    facts = gather(client, DB, MAY)  # every query runs (empty invoices, dead letters, Stripe reports)
    assert facts.top_invoices == [] and facts.dead_letters == [] and facts.stripe == []
    assert [len(d) for d in facts.daily] == [3, 3, 3]


def test_contract_lines_show_what_contracts_add(client: Any) -> None:
    """Add-ons, a true-up, a credit and seats counted on a contract's basis; usage lines and active seats not."""
    cols = ["invoice_id", "account_id", "period", "period_start", "line_no", "code", "description"]
    cols += ["quantity", "amount"]
    at = datetime(2026, 5, 1)
    rows = [
        ("org-a", 0, "seats", "12 active seats", "12", "600"),
        ("org-a", 1, "addon:white_label_setup", "White-label setup (once)", "1", "15000"),
        ("org-a", 2, "commitment_true_up", "Commitment true-up", "1", "250.5"),
        ("org-a", 3, "credit:cg_1", "Credit: Prepaid", "1", "-1000"),
        ("org-b", 0, "seats", "19 provisioned seats", "19", "950"),
        ("org-b", 1, "api_calls_overage", "API calls over the included quantity", "100", "1"),
    ]
    client.insert(
        f"{DB}.invoice_lines",
        [[f"in_{a}_2026-05", a, "2026-05", at, n, c, d, Decimal(q), Decimal(v)] for a, n, c, d, q, v in rows],
        column_names=cols,
    )
    facts = gather(client, DB, MAY)
    assert [(a, c, q, v) for a, c, _, q, v in facts.contracts] == [
        ("org-a", "addon:white_label_setup", 1, Decimal("15000")),
        ("org-a", "commitment_true_up", 1, Decimal("250.5")),
        ("org-a", "credit:cg_1", 1, Decimal("-1000")),
        ("org-b", "seats", 19, Decimal("950")),
    ]
