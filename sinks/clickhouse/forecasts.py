"""``forecasts``: each account's period-end forecast as refreshed after settlement, for analysts to hold
forecast against actual (docs/analytics.md, "Forecasts")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sinks.clickhouse.settlement.tables import Tables
from sinks.clickhouse.timefmt import ch_datetime, ch_literal

#: The ``metric`` of the invoice total's row; the other rows are metrics.
INVOICE_TOTAL = "invoice_total"


class Forecasts(Tables):
    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self._insert("forecasts", rows)

    def accounts_as_of(self, as_of: datetime) -> set[str]:
        """The accounts forecast as of ``as_of`` already."""
        rows = self._rows(f"SELECT DISTINCT account_id FROM {self._db}.forecasts WHERE as_of = '{_second(as_of)}'")
        return {r[0] for r in rows}

    def latest(self, account: str) -> list[tuple[Any, ...]]:
        """The account's latest forecast rows: (period, as_of, metric, to_date, expected, p10, p90)."""
        return self._rows(
            "SELECT period, as_of, metric, toString(to_date), toString(expected), toString(p10), toString(p90) "
            f"FROM {self._db}.forecasts FINAL WHERE account_id = {ch_literal(account)} "
            f"AND as_of = (SELECT max(as_of) FROM {self._db}.forecasts WHERE account_id = {ch_literal(account)}) "
            "ORDER BY metric"
        )


def forecast_row(
    document: dict[str, Any], metric: str, values: tuple[str, str, str, str], computed_at: datetime
) -> dict[str, Any]:
    """A ``forecasts`` row from a forecast document (``GET /api/billing/forecast``) and one quantity's
    (to_date, expected, p10, p90) as decimal strings."""
    start = datetime.fromisoformat(document["period_start"])
    return {
        "account_id": document["account_id"],
        "period": f"{start.year:04d}-{start.month:02d}",
        "period_start": _second(start),
        "period_end": _second(datetime.fromisoformat(document["period_end"])),
        "as_of": _second(datetime.fromisoformat(document["as_of"])),
        "settled_until": _second(datetime.fromisoformat(document.get("settled_until", document["as_of"]))),
        "days_elapsed": document["days_elapsed"],
        "days_in_period": document["days_in_period"],
        "metric": metric,
        "currency": document["currency"],
        "to_date": values[0],
        "expected": values[1],
        "p10": values[2],
        "p90": values[3],
        "computed_at": ch_datetime(computed_at),
    }


def _second(at: datetime) -> str:
    return ch_datetime(at)[:19]  # DateTime('UTC'): whole seconds
