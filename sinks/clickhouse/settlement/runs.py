"""``settlement_runs`` (how far settlement got) and ``settlement_diffs`` (live against settled)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sinks.clickhouse.settlement.tables import Tables
from sinks.clickhouse.timefmt import ch_datetime
from sinks.clickhouse.timefmt import from_ch as _utc


@dataclass(frozen=True, slots=True)
class LastRun:
    until: datetime
    stored_until: datetime


class SettlementRuns(Tables):
    def last_run(self) -> LastRun | None:
        rows = self._rows(f"SELECT max(until), max(stored_until), count() FROM {self._db}.settlement_runs")
        if not rows or not rows[0][2]:
            return None
        return LastRun(_utc(rows[0][0]), _utc(rows[0][1]))

    def record_run(
        self, run_at: datetime, until: datetime, after: datetime, upto: datetime, counts: dict[str, int]
    ) -> None:
        self._insert(
            "settlement_runs",
            [
                {
                    "run_at": ch_datetime(run_at),
                    "until": ch_datetime(until)[:19],
                    "stored_after": ch_datetime(after),
                    "stored_until": ch_datetime(upto),
                    **counts,
                }
            ],
        )

    def write_diffs(
        self, account_id: str, period_key: str, diffs: dict[str, tuple[Decimal, Decimal]], at: datetime
    ) -> None:
        self._insert(
            "settlement_diffs",
            [
                {
                    "account_id": account_id,
                    "period": period_key,
                    "metric": metric,
                    "live_quantity": f"{live:f}",
                    "settled_quantity": f"{settled:f}",
                    "difference": f"{live - settled:f}",
                    "found_at": ch_datetime(at),
                }
                for metric, (live, settled) in sorted(diffs.items())
            ],
        )
