"""The forecast in the day in progress (docs/forecasting.md, fourth round), on the real warehouse (chDB): the
hours settled before the watermark and the live counts after it, through ``GET /api/billing/forecast`` and
the refresh of ClickHouse ``forecasts`` that runs after each settlement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from rating.periods import Period
from rating.settle import account_period
from sinks.clickhouse.forecasts import Forecasts
from streams.api.common import store_histories
from streams.api.warehouse import Warehouse
from streams.settlement.forecast import forecast_account
from streams.settlement.forecast_refresh import ForecastRefresh
from streams.warehouse.rows import provisional_rows
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration

JUNE16 = datetime(2026, 6, 16, tzinfo=UTC)


def _live_line(account: str, at: datetime, quantity: int) -> bytes:
    """A ``usage.rated`` record of the live stage: ``quantity`` API calls rated at ``at``."""
    line = {
        "account_id": account,
        "metric": "api_calls",
        "period": "2026-06",
        "period_start_ms": int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000),
        "tier": "standard",
        "quantity": str(quantity),
        "period_to_date": "0",
        "included": "0",
        "billable": "0",
        "unit_price": "0",
        "amount": "0",
        "catalog_version": "v",
        "subscription_version": 1,
        "provisional": True,
        "rated_at": at.isoformat(),
    }
    return b"\n".join(provisional_rows(orjson.dumps(line), 0, int(at.timestamp()))) + b"\n"


async def test_the_day_is_read_to_the_settled_watermark_then_live(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=datetime(2026, 5, 2, tzinfo=UTC)) as api:
        org, other = await api.org("ida"), await api.org("ivo")
        owner = api.as_user("ida", org)
        await api.subscribe(org, "ida", "standard")  # anchored on May 1
        api.clock.now = datetime(2026, 6, 2, tzinfo=UTC)
        new = await api.org("nia")
        await api.subscribe(new, "nia", "standard")  # anchored on June 1, its first usage on June 16
        # 5,000 calls every day at 10:00 from May 1 to June 15: each day's usage comes at 10:00 (its profile).
        day, block = datetime(2026, 5, 1, 10, tzinfo=UTC), b""
        while day < JUNE16:
            block += event_block(org, "ida", org, "api_calls", day, [5000], id_prefix=f"{org}-id")
            day += timedelta(days=1)
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        settler = api_settler(api, client, lambda: [org])

        async def forecast(at: datetime) -> dict[str, Any]:
            api.clock.now = at
            r = await api.client.get(f"/api/billing/forecast?account={org}", headers=owner)
            assert r.status_code == 200, r.text
            doc: dict[str, Any] = r.json()
            return doc

        # June 16, 06:00 settled: none of the day's usage yet and none expected before 10:00, so the day is
        # still all ahead: 15 days of 5,000 (75,000) and 15 more expected, 150,000 -> $549.99.
        settler.settle(JUNE16 + timedelta(hours=6), datetime.now(UTC))
        doc = await forecast(JUNE16 + timedelta(hours=6))
        assert (doc["as_of"], doc["settled_until"], doc["live_until"]) == (
            "2026-06-16T00:00:00Z",
            "2026-06-16T06:00:00Z",
            "2026-06-16T06:00:00Z",
        )
        (calls,) = doc["metrics"]
        assert (doc["days_elapsed"], calls["to_date"], calls["expected"]) == (15, "75000", "150000")
        assert doc["total"]["expected"] == "549.99"

        # 12:00 settled: the day's 5,000 are in (to date 80,000), the rest of the day expects nothing (its
        # profile is all at 10:00) and the 14 days after 70,000: still 150,000.
        refresh = ForecastRefresh(
            settler, store_histories(api.ctx.sessions), Forecasts(client, CH_DB), api.ctx.sessions
        )
        today = event_block(org, "ida", org, "api_calls", JUNE16 + timedelta(hours=10), [5000], id_prefix=f"{org}-id")
        today += event_block(new, "nia", new, "api_calls", JUNE16 + timedelta(hours=10), [2000], id_prefix=f"{new}-n")
        client.raw_insert(f"{CH_DB}.events", None, insert_block=today, fmt="JSONEachRow")
        result = settler.settle(JUNE16 + timedelta(hours=12), datetime.now(UTC))
        assert org in result.accounts
        doc = await forecast(JUNE16 + timedelta(hours=12))
        (calls,) = doc["metrics"]
        assert (doc["settled_until"], calls["to_date"], calls["expected"]) == (
            "2026-06-16T12:00:00Z",
            "80000",
            "150000",
        )
        assert calls["daily"] == ["5000"] * 15  # the settled whole days (the chart's solid part)
        assert Decimal(calls["p10"]) >= 80_000

        # An account whose first usage is today: the tier's typical day for the rest of today (its hours alike:
        # half of it after 12:00) and the days after, beside the 2,000 settled.
        noon = JUNE16 + timedelta(hours=12)
        nia = forecast_account(
            settler, new, Period(JUNE16 - timedelta(days=15), datetime(2026, 7, 1, tzinfo=UTC)), noon
        )
        # (by name: other tests' standard accounts in the shared warehouse may give the tier typical AI requests too)
        first = next(m for m in nia.document["metrics"] if m["metric"] == "api_calls")
        assert (first["metric"], first["to_date"], first["daily"]) == ("api_calls", "2000", [])  # no whole day yet
        typical = settler.typical_daily("standard", JUNE16 - timedelta(days=28), JUNE16)["api_calls"]
        assert Decimal(first["expected"]) == pytest.approx(Decimal(2000 + typical * 0.5 + typical * 14), abs=1)

        # The refresh after that settlement writes the day's row, standing at 12:00.
        assert refresh.run(result.accounts, result.until, noon + timedelta(minutes=5), daily=True).forecast >= 1
        rows = _rows(client, org)
        assert rows["api_calls"] == (JUNE16, noon, "80000", "150000")

        # 3,000 calls counted live at 12:10 (not settled yet): the forecast at 12:30 adds them, 153,000 calls ->
        # 53,000 over the included 100,000 at $0.01 + $49.99.
        client.raw_insert(
            f"{CH_DB}.rated_usage",
            None,
            insert_block=_live_line(org, noon + timedelta(minutes=10), 3000),
            fmt="JSONEachRow",
        )
        client.raw_insert(  # another account's live count is not this one's
            f"{CH_DB}.rated_usage", None, insert_block=_live_line(other, noon, 99_000), fmt="JSONEachRow"
        )
        # (Read at the watermark of this test's settlement: the warehouse is shared by the tests, whose settlement
        # runs go to other made-up dates, and the API reads the latest of them.)
        june = account_period(org, store_histories(api.ctx.sessions), noon)
        doc = forecast_account(settler, org, june, noon + timedelta(minutes=30), settled_until=noon).document
        (calls,) = doc["metrics"]
        assert (doc["settled_until"], doc["live_until"]) == ("2026-06-16T12:00:00+00:00", "2026-06-16T12:30:00+00:00")
        assert (calls["to_date"], calls["expected"]) == ("80000", "153000")
        assert (doc["total"]["to_date"], doc["total"]["expected"]) == ("49.99", "579.99")

        # The refresh of the next run replaces the day's row (one per day and metric, the latest wins).
        refresh.run([org], result.until, noon + timedelta(minutes=30), budgeted=False)
        assert _rows(client, org)["api_calls"] == (JUNE16, noon, "80000", "153000")
        # A run that moved no hour of the account's and no budget: nothing refreshed.
        assert refresh.run([], result.until, noon + timedelta(minutes=31), daily=True).forecast == 0

        # The worker forecasts at most ``per_run`` accounts a run; the others wait for the next runs.
        capped = ForecastRefresh(
            settler, store_histories(api.ctx.sessions), Forecasts(client, CH_DB), api.ctx.sessions, per_run=1
        )
        first = capped.run([org, other], result.until, noon + timedelta(minutes=32), budgeted=False)
        assert (first.forecast, first.pending, first.totals[0][0]) == (1, 1, min(org, other))
        second = capped.run([], result.until, noon + timedelta(minutes=33), budgeted=False)
        assert (second.forecast, second.pending, second.totals[0][0]) == (1, 0, max(org, other))
        assert capped.run([], result.until, noon + timedelta(minutes=34), budgeted=False).forecast == 0


def _rows(client: Any, account: str) -> dict[str, tuple[datetime, datetime, str, str]]:
    found = client.query(
        "SELECT metric, as_of, settled_until, toString(to_date), toString(expected) "
        f"FROM {CH_DB}.forecasts FINAL WHERE account_id = '{account}' AND period = '2026-06'"
    ).result_rows
    metrics = [r[0] for r in found]
    assert len(metrics) == len(set(metrics))  # one row per metric for the day
    return {m: (a.replace(tzinfo=UTC), s.replace(tzinfo=UTC), t, e) for m, a, s, t, e in found}
