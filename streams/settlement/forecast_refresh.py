"""After each settlement: the touched accounts' forecasts refreshed into ClickHouse ``forecasts`` and the
budgets checked, so a budget crossing sends its alert (docs/forecasting.md, "After settlement").

Every run forecasts the accounts whose settled hours it moved (a forecast reads the hours up to the settled
watermark and the live counts after it). Accounts with a budget are forecast once a day even when settlement
did not touch them: a period that starts, or the day that passes, may be what crosses the budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rating.periods import Period
from rating.settle import HistoryLookup, account_period
from sinks.clickhouse.forecasts import INVOICE_TOTAL, Forecasts, forecast_row
from sinks.errors import SinkError
from streams.notify.budgets import enqueue_budget_alerts
from streams.settlement.forecast import AccountForecast, forecast_account, history_start, settled_watermark
from streams.settlement.settler import InvoiceInputs, Settler
from streams.store.db import table_check
from streams.store.models import BudgetRow

log = logging.getLogger(__name__)

#: Accounts whose forecast rows are written to ClickHouse at once.
WRITE_BATCH = 500
#: Accounts of a period whose forecast inputs are read at once.
READ_BATCH = 500
#: The accounts the worker forecasts after one settlement run at most (about 30 ms each on the shared 2-core
#: machine: bench/forecast_refresh.py); the rest are forecast after the next runs.
WORKER_PER_RUN = 1000


@dataclass
class RefreshResult:
    forecast: int = 0  # accounts forecast
    alerts: list[str] = field(default_factory=list)  # budget alert keys that are new
    failed: list[str] = field(default_factory=list)  # accounts whose forecast could not be computed
    totals: list[list[str]] = field(default_factory=list)  # account, period, to_date, expected, p10, p90
    pending: int = 0  # accounts left for the next run (``per_run``)

    def summary(self) -> dict[str, object]:
        return {
            "forecast": self.forecast,
            "budget_alerts": len(self.alerts),
            "failed": len(self.failed),
            "forecast_pending": self.pending,
        }


def store_budgets(make_session: sessionmaker[Session]) -> Callable[[], dict[str, Decimal]]:
    """Every account's budget, in the currency (the store keeps cents); none while the store has no
    ``budgets`` table (a worker may settle before the API migrated the store)."""
    migrated = table_check(BudgetRow.__tablename__)

    def budgets() -> dict[str, Decimal]:
        with make_session() as s:
            if not migrated(s):
                return {}
            return {r.account_id: Decimal(r.amount) / 100 for r in s.scalars(select(BudgetRow))}

    return budgets


def forecast_rows(f: AccountForecast, computed_at: datetime) -> list[dict[str, Any]]:
    """The ``forecasts`` rows of one account: the invoice total, each metric, each AI provider/model."""
    doc = f.document
    t = doc["total"]
    rows = [forecast_row(doc, INVOICE_TOTAL, (t["to_date"], t["expected"], t["p10"], t["p90"]), computed_at)]
    rows += [
        forecast_row(doc, m["metric"], (m["to_date"], m["expected"], m["p10"], m["p90"]), computed_at)
        for m in doc["metrics"]
    ]
    for ai in f.ai_models:
        q = ai.requests
        values = (f"{q.to_date:.2f}", f"{q.expected:.2f}", f"{q.p10:.2f}", f"{q.p90:.2f}")
        rows.append(forecast_row(doc, f"ai_requests:{ai.model}", values, computed_at))
        costs = (
            f"{ai.cost_to_date:f}",
            f"{ai.cost_at(q.expected):.9f}",
            f"{ai.cost_at(q.p10):.9f}",
            f"{ai.cost_at(q.p90):.9f}",
        )
        rows.append(forecast_row(doc, f"ai_cost:{ai.model}", costs, computed_at))
    return rows


class ForecastRefresh:
    """``run(accounts, until, now)``: forecast as of ``until`` (the settled data's end), write, alert."""

    def __init__(
        self,
        settler: Settler,
        histories: HistoryLookup,
        table: Forecasts,
        make_session: sessionmaker[Session],
        *,
        per_run: int | None = None,
    ) -> None:
        """``per_run``: at most this many accounts a run; the rest wait, first come first served, for the next
        runs (the worker's: a run that settled every account's hour must not hold settlement up for minutes)."""
        self._settler, self._histories, self._table, self._make = settler, histories, table, make_session
        self._budgets = store_budgets(make_session)
        self._per_run = per_run
        self._pending: dict[str, None] = {}  # accounts to forecast, in the order they came (a set that keeps it)

    def run(
        self, accounts: Iterable[str], until: datetime, now: datetime, *, budgeted: bool = True, daily: bool = False
    ) -> RefreshResult:
        """Forecast ``accounts`` (those whose settled hours moved) as of ``until`` (the settled watermark) and
        the live counts after it up to ``now``. ``budgeted``: the accounts with a budget too. ``daily``: those
        budgeted accounts only when not forecast today yet (a new day or period may cross a budget without
        new usage; the worker refreshes after every run, so the rest of the day they wait for usage)."""
        result = RefreshResult()
        limits = self._budgets()
        rows: list[dict[str, Any]] = []
        extra = set(limits) if budgeted else set()
        if daily and extra:
            extra -= self._table.accounts_as_of(until.replace(hour=0, minute=0, second=0, microsecond=0))
        for account in sorted(set(accounts) | extra):
            self._pending.setdefault(account, None)
        targets = list(self._pending)[: self._per_run] if self._per_run else list(self._pending)
        live = self._live(targets, until, now)
        for account, period, inputs in self._inputs(targets, until, now):
            try:
                f = forecast_account(
                    self._settler,
                    account,
                    period,
                    now,
                    settled_until=until,
                    live=live.get(account, {}),
                    inputs=inputs,
                )
            except SinkError:
                raise  # ClickHouse away: the next run refreshes
            except Exception:  # one account's bad data must not stop the others' forecasts and alerts
                log.exception("cannot forecast %s for %s", account, period.key)
                result.failed.append(account)
                continue
            result.forecast += 1
            t = f.document["total"]
            result.totals.append([account, period.key, t["to_date"], t["expected"], t["p10"], t["p90"]])
            rows += forecast_rows(f, now)
            if account in limits:
                with self._make.begin() as s:
                    result.alerts += enqueue_budget_alerts(s, account, period.key, limits[account], f.document, now)
            if len(rows) >= WRITE_BATCH * 4:
                self._table.write(rows)
                rows = []
        self._table.write(rows)
        for account in targets:  # done (a ClickHouse outage above leaves them all for the next run)
            del self._pending[account]
        result.pending = len(self._pending)
        return result

    def _inputs(
        self, accounts: list[str], until: datetime, now: datetime
    ) -> Iterator[tuple[str, Period, InvoiceInputs | None]]:
        """Each account's period and forecast inputs, read for READ_BATCH accounts of a period at once (one
        read per table instead of one per account: bench/forecast_refresh.py)."""
        periods: dict[Period, list[str]] = {}
        for account in accounts:
            periods.setdefault(account_period(account, self._histories, until), []).append(account)
        for period, members in sorted(periods.items(), key=lambda kv: kv[0].start):
            mark = settled_watermark(self._settler, period, now, until)
            for i in range(0, len(members), READ_BATCH):
                chunk = members[i : i + READ_BATCH]
                try:
                    read: dict[str, InvoiceInputs | None] = dict(
                        self._settler.invoice_inputs_many(chunk, period, until=mark, history_from=history_start(period))
                    )
                except SinkError:
                    raise
                except Exception:  # one account's bad store data: each reads its own, and fails alone
                    log.exception("cannot read the forecast inputs of %s accounts at once", len(chunk))
                    read = dict.fromkeys(chunk)
                for account in chunk:
                    yield account, period, read[account]

    def _live(self, accounts: list[str], until: datetime, now: datetime) -> dict[str, dict[str, float]]:
        """The live counts after the watermark up to ``now`` or the watermark's day end, in one read."""
        end = min(now, until.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
        if not accounts or end <= until:
            return {}
        found = self._settler.live_since(accounts, until, end)
        return {a: {m: float(q) for m, q in by.items()} for a, by in found.items()}
