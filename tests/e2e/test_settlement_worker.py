"""Settlement inside the worker on the real stack: usage in through Kafka, settled on the worker's timer
from ClickHouse, live lines and subscriptions stored for analysts; then `meterline settle` and
`meterline invoice preview` from the command line find nothing left to do and the expected draft."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import clickhouse_connect
import pytest

from schemas.sdk import AsyncUsageClient
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ACCEPTED, EVENTS, RATED, SUBSCRIPTIONS
from tests.support.meterline_cli import cli
from tests.support.processes import drained, scrape, start_worker, wait_until

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
USED_AT = NOW - timedelta(hours=3)  # its hour is closed and past the 1 h lateness allowance
ANCHOR = (NOW - timedelta(hours=3)).date()
T0 = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=UTC)  # the period's start


async def send(s: Settings, key: str) -> int:
    async with AsyncUsageClient(s.kafka_bootstrap, source="settle", topic=s.topic(EVENTS)) as usage:
        # 105 x 1,000 API calls by two members of acme (standard): 5,000 over the 100,000 included.
        for i in range(105):
            await usage.record(
                "api_calls", 1000, user_id=f"m{i % 2}", org_id="acme", event_id=f"{key}-{i}", timestamp=USED_AT
            )
        # A producer retry re-sends ten of them: deduplicated, never billed twice.
        for i in range(10):
            await usage.record(
                "api_calls", 1000, user_id=f"m{i % 2}", org_id="acme", event_id=f"{key}-{i}", timestamp=USED_AT
            )
    return 115


def test_worker_settles_closed_windows(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    s = stack_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("settle"), "topic_prefix": stack_settings.topic_prefix + "settle."}
    )
    asyncio.run(ensure_topics(s))
    cli(s, "subscriptions", "put", "--account", "acme", "--kind", "org", "--tier", "standard",
        "--anchor", ANCHOR.isoformat(), "--effective-from", T0.isoformat())  # fmt: skip
    worker, port = start_worker(s, s.data_dir / "w.log", METERLINE_SETTLE_INTERVAL_SECONDS="2")
    try:
        sent = asyncio.run(send(s, f"st-{NOW.timestamp()}"))
        topics = (s.topic(ACCEPTED), s.topic(RATED), s.topic(SUBSCRIPTIONS))
        wait_until(
            lambda: scrape(port).get("meterline_events_in_total", 0) >= sent and drained(port, topics),
            120,
            "events stored and rated",
            worker,
        )
        runs = scrape(port).get("meterline_settlement_runs_total", 0)
        # A run that started after everything was stored has settled it.
        wait_until(lambda: scrape(port).get("meterline_settlement_runs_total", 0) >= runs + 2, 60, "settled", worker)
    finally:
        assert worker.terminate() == 0, worker.tail()

    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:

        def one(sql: str) -> object:
            return ch.query(sql).result_rows[0][0]

        assert (
            Decimal(str(one("SELECT sum(quantity) FROM meterline.usage_hourly FINAL WHERE account_id = 'acme'")))
            == 105_000
        )
        assert one("SELECT uniqExact(user_id) FROM meterline.usage_hourly FINAL WHERE account_id = 'acme'") == 2
        settled = one(
            "SELECT toString(sum(amount)) FROM meterline.rated_usage FINAL "
            "WHERE account_id = 'acme' AND kind = 'settled'"
        )
        assert Decimal(str(settled)) == Decimal("50")  # 5,000 x $0.01
        live = one(
            "SELECT sumIf(quantity, metric = 'api_calls'), sumIf(quantity, metric = 'active_user') "
            "FROM meterline.rated_usage FINAL WHERE account_id = 'acme' AND kind = 'provisional'"
        )
        assert Decimal(str(live)) == 105_000
        seats = ch.query(
            "SELECT sumIf(quantity, kind = 'provisional'), sumIf(quantity, kind = 'settled') "
            "FROM meterline.rated_usage FINAL WHERE account_id = 'acme' AND metric = 'active_user'"
        ).result_rows[0]
        assert [Decimal(str(q)) for q in seats] == [2, 2]  # m0 and m1 acted: two seats, live and settled
        assert one("SELECT tier FROM meterline.subscriptions FINAL WHERE account_id = 'acme'") == "standard"
        # After settling, the worker forecast acme's period (docs/forecasting.md, "After settlement").
        period = one(
            "SELECT period FROM meterline.forecasts FINAL WHERE account_id = 'acme' AND metric = 'invoice_total'"
        )
        assert period == ANCHOR.strftime("%Y-%m")
    finally:
        ch.close()

    # From the command line, with the worker stopped (chDB: one process per directory).
    assert cli(s, "settle", "--json")["windows"] == 0  # nothing new: settling again is a no-op
    forecast = cli(s, "forecast", "run", "--account", "acme", "--json")
    assert (forecast["forecast"], forecast["failed"]) == (1, 0)
    assert forecast["forecasts"][0]["account"] == "acme"
    doc = cli(s, "invoice", "preview", "--account", "acme", "--period", ANCHOR.strftime("%Y-%m"), "--json")
    lines = {ln["code"]: ln["amount"] for ln in doc["lines"]}
    assert doc["status"] == "draft"
    assert lines == {"base_fee": "49.99", "api_calls_overage": "50.00"}
    assert doc["total"] == "99.99"
