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
