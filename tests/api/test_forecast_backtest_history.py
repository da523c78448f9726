"""``meterline forecast backtest --from-warehouse``: the settled history's finalized invoices forecast at days
7, 15 and 25 as the product forecasts them (real chDB, real settlement), against hand-worked figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from rating.catalog.loader import load_catalog
from streams.api.warehouse import Warehouse
from streams.cli import settle_cmd
from streams.cli.main import main
from streams.settings import Settings
from streams.settlement.backtest_history import backtest_settled, settled_periods, store_addons_known
from streams.store import addons
from streams.store.models import Subscription
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration

D = Decimal


def _calls(org: str, user: str, first: datetime, days: int, per_day: int) -> bytes:
    return b"".join(
        event_block(org, user, org, "api_calls", first + i * timedelta(days=1), [per_day], id_prefix=f"{org}-bth")
        for i in range(days)
    )


def _ape(forecast: Decimal, actual: Decimal) -> Decimal:
    return abs(forecast - actual) / actual


async def test_settled_invoices_are_forecast_as_of_each_check_day(
    make_api: Callable[..., Any],
    warehouse: Warehouse,
    stack_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        flat, step, disk = await api.org("bt-flat"), await api.org("bt-step"), await api.org("bt-disk")
        for org, owner in ((flat, "bt-flat"), (step, "bt-step"), (disk, "bt-disk")):
            r = await api.client.post(
                "/api/billing/subscriptions/create",
                json={"tier": "standard", "anchor": "2026-05-01"},
                headers=api.as_user(owner, org),
            )
            assert r.status_code == 201, r.text
        may = datetime(2026, 5, 1, 10, tzinfo=UTC)
        # flat: 5,000 calls every day of May and June. step: 1,000 a day May 1-10, then 10,000 a day.
        block = _calls(flat, "bt-flat", may, 61, 5000) + _calls(step, "bt-step", may, 10, 1000)
        block += _calls(step, "bt-step", may + timedelta(days=10), 51, 10_000)
        # disk: 1,000 calls a day (inside the included calls) and storage of 50 GB from May 1, 250 GB from May 20.
        block += _calls(disk, "bt-disk", may, 61, 1000)
        for at, gb in ((datetime(2026, 5, 1, tzinfo=UTC), 50), (datetime(2026, 5, 20, tzinfo=UTC), 250)):
            block += event_block(disk, "bt-disk", disk, "storage_gb", at, [gb], id_prefix=f"{disk}-gb")
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        settler = api_settler(api, client, lambda: [flat, step, disk])
        # Settled to July 3: May and June end more than the 24 h grace before it and are finalized.
        settler.settle(datetime(2026, 7, 3, tzinfo=UTC), datetime.now(UTC))

        from sinks.clickhouse.settlement import SettlementStore

        store = SettlementStore(client, CH_DB)
        documents = store.final_invoices(datetime(2026, 5, 1, tzinfo=UTC))
        periods = settled_periods(documents, settler, accounts=[flat, step])
        # Standard: $49.99 a month with 100,000 calls, then $0.01 a call.
        # flat: May 155,000 calls -> $599.99; June 150,000 -> $549.99.
        # step: May 10 x 1,000 + 21 x 10,000 = 220,000 -> $1,249.99; June 300,000 -> $2,049.99.
        assert [(p.period.start.month, p.account_id, p.tier, p.total) for p in periods] == sorted(
            [
                (5, flat, "standard", D("599.99")),
                (5, step, "standard", D("1249.99")),
                (6, flat, "standard", D("549.99")),
                (6, step, "standard", D("2049.99")),
            ]
        )
        outcomes = {(o.account_id, o.actual, o.day): o for o in backtest_settled(settler, store, periods)}
        assert len(outcomes) == 12
        # The flat account is forecast exactly on every day, by the method and by the baseline.
        for (account, _, _), o in outcomes.items():
            if account == flat:
                assert (o.expected, o.baseline, o.ape, o.inside) == (o.actual, o.actual, 0.0, True)
        # step's May: at day 7 the forecast sees only the 1,000-a-day week (nothing after its cutoff), so
        # the method and linear extrapolation both say 31,000 calls: the base fee alone.
        at7 = outcomes[(step, D("1249.99"), 7)]
        assert (at7.has_history, at7.expected, at7.baseline) == (False, D("49.99"), D("49.99"))
        # Linear extrapolation at day 15: 60,000 / 15 x 31 = 124,000 calls -> $289.99; at day 25:
        # 160,000 / 25 x 31 = 198,400 -> $1,033.99. June is 10,000 a day throughout: exact.
        assert outcomes[(step, D("1249.99"), 15)].baseline == D("289.99")
        assert outcomes[(step, D("1249.99"), 25)].baseline == D("1033.99")
        assert {outcomes[(step, D("2049.99"), d)].baseline for d in (7, 15, 25)} == {D("2049.99")}
        assert outcomes[(step, D("2049.99"), 15)].has_history

        # disk's May: 50 GB for 19 days and 250 GB for 12 average 3,950 / 31 GB, 2,400 / 31 over the included
        # 50 at $0.10 = $7.74: $57.73. Before May 20 the forecast knows only the 50 GB (the reading after its
        # cutoff is not seen): the base fee; at day 25 it knows the 250 GB, held to the period's end.
        (disk_may,) = [p for p in settled_periods(documents, settler, accounts=[disk]) if p.period.start.month == 5]
        assert disk_may.total == D("57.73")
        seen = {o.day: o.expected for o in backtest_settled(settler, store, [disk_may])}
        assert seen == {7: D("49.99"), 15: D("49.99"), 25: D("57.73")}

        # The command on the same warehouse: the settlement it opens is this test's.
        monkeypatch.setattr(
            settle_cmd,
            "open_settlement",
            lambda: (stack_settings.model_copy(update={"clickhouse_database": CH_DB}), None, settler, client),
        )
        args = ["forecast", "backtest", "--from-warehouse", "--since", "2026-05", "--json"]
        assert main([*args, "--account", flat, "--account", step]) == 0
        doc = orjson.loads(capsys.readouterr().out)
        assert (doc["invoices"], doc["accounts"], doc["left_out"]) == (4, sorted([flat, step]), 0)
        day7 = doc["report"]["day_7"]["no_history"]
        # May at day 7: flat APE 0, step APE 1,200 / 1,249.99 for both the method and the baseline.
        step_ape = _ape(D("49.99"), D("1249.99"))
        assert day7["count"] == 2
        assert day7["median_ape"] == day7["baseline_median_ape"] == round(float(step_ape / 2), 4)
        assert day7["mape"] == round(float(step_ape / 2), 4)
        assert day7["by_tier"]["standard"]["count"] == 2
        # June with history at day 7: the baseline is exact for both accounts.
        june7 = doc["report"]["day_7"]["with_history"]
        assert (june7["count"], june7["baseline_mape"]) == (2, 0.0)
        assert {(o["account_id"], o["day"], o["actual"]) for o in doc["outcomes"]} >= {(step, 25, "1249.99")}

        # --since after the last period: nothing to replay, an empty report; --account of a stranger likewise.
        assert (
            main(["forecast", "backtest", "--from-warehouse", "--since", "2026-07", "--account", flat, "--json"]) == 0
        )
        assert orjson.loads(capsys.readouterr().out)["invoices"] == 0
        assert main(["forecast", "backtest", "--from-warehouse", "--account", "org_nobody"]) == 0
        assert capsys.readouterr().out.startswith("0 finalized invoices of 0 accounts; 0 check days left out")
        # The text table.
        assert main([*args[:-1], "--account", step]) == 0
        text = capsys.readouterr().out
        assert text.startswith("2 finalized invoices of 1 accounts; 0 check days left out") and "naive median" in text

        # What the billing store and the corrections hold is replayed as it was known on each day. flat's June
        # gets a correction of $10 found on June 12 (a late May event) and an add-on session ($5,000) recorded on
        # June 20: day 7 (June 8) knows neither, day 15 (June 16) the correction, day 25 (June 26) both.
        (flat_june,) = [p for p in periods if p.account_id == flat and p.period.start.month == 6]
        store.write_correction(
            flat, "2026-05", "api_calls_overage", "2026-06", D(1000), D(10), datetime(2026, 6, 12, tzinfo=UTC)
        )
        with api.ctx.sessions.begin() as s:
            sub = s.scalars(select(Subscription).where(Subscription.account_id == flat)).one()
            june10 = datetime(2026, 6, 10, tzinfo=UTC)
            addons.record(
                s, sub, load_catalog().at(june10), "custom_ai_training", quantity=D(1), starts_at=june10,
                ends_at=None, note=None, by="test", now=datetime(2026, 6, 20, tzinfo=UTC), not_before=june10,
            )  # fmt: skip
        known = store_addons_known(api.ctx.sessions)
        seen = {o.day: o.expected for o in backtest_settled(settler, store, [flat_june], known)}
        assert seen == {7: D("549.99"), 15: D("559.99"), 25: D("5559.99")}
        # Without the add-ons' record times they are taken as the store holds them now, on every day.
        assert {o.expected for o in backtest_settled(settler, store, [flat_june])} >= {D("5549.99")}


def test_warehouse_options_need_from_warehouse() -> None:
    with pytest.raises(SystemExit, match="need --from-warehouse"):
        main(["forecast", "backtest", "--since", "2026-05"])
    with pytest.raises(SystemExit):
        main(["forecast", "backtest", "--from-warehouse", "--since", "May"])
