"""The reads behind the demo's closing report (``deploy/demo/report.py``): invoices, overage lines,
settled usage, dead letters and Stripe reports of one usage period. Values are bound as query
parameters; the database name is checked to be an identifier before it is written into the SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sinks.clickhouse.migrations import check_database
from sinks.clickhouse.timefmt import ch_datetime

# ``hour`` within [start, end): the usage period's hours.
_SPAN = "hour >= toDateTime64(%(start)s, 3, 'UTC') AND hour < toDateTime64(%(end)s, 3, 'UTC')"


class DemoQueries:
    def __init__(self, client: Any, database: str) -> None:
        self._client = client
        self._db = check_database(database)

    def _rows(self, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._client.query(sql, parameters=parameters).result_rows]

    @staticmethod
    def _span(start: datetime, end: datetime) -> dict[str, str]:
        return {"start": ch_datetime(start), "end": ch_datetime(end)}

    def invoice_totals(self, period_key: str) -> list[tuple[Any, ...]]:
        """(account, tier, total as text) of the period's invoices."""
        return self._rows(
            f"SELECT account_id, tier, toString(total) FROM {self._db}.invoices FINAL WHERE period = %(key)s",
            key=period_key,
        )

    def overage_by_account(self, period_key: str) -> list[tuple[Any, ...]]:
        """(account, overage as text): the usage-priced lines (API calls, storage, premium features)."""
        return self._rows(
            f"SELECT account_id, toString(sum(amount)) FROM {self._db}.invoice_lines FINAL WHERE period = %(key)s "
            "AND (code IN ('api_calls_overage', 'storage_overage') OR startsWith(code, 'premium_feature:')) "
            "GROUP BY account_id",
            key=period_key,
        )

    def usage_by_account(self, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
        """(account, API calls, AI requests, AI cost), as text, settled in [start, end)."""
        return self._rows(
            "SELECT account_id, toString(sumIf(quantity, metric = 'api_calls')), "
            "toString(sumIf(quantity, metric = 'ai_requests')), toString(sum(ai_cost)) "
            f"FROM {self._db}.usage_hourly FINAL WHERE {_SPAN} GROUP BY account_id",
            **self._span(start, end),
        )

    def top_invoices(self, period_key: str, limit: int = 5) -> list[tuple[Any, ...]]:
        """(account, tier, total as text, "code amount, ...") of the period's largest invoices."""
        db = self._db
        return self._rows(
            "SELECT i.account_id, i.tier, toString(i.total), "
            "arrayStringConcat(groupArray(concat(l.code, ' ', toString(l.amount))), ', ') "
            f"FROM {db}.invoices AS i FINAL INNER JOIN {db}.invoice_lines AS l FINAL ON l.invoice_id = i.invoice_id "
            "WHERE i.period = %(key)s GROUP BY i.account_id, i.tier, i.total ORDER BY i.total DESC LIMIT %(limit)s",
            key=period_key,
            limit=limit,
        )

    def contract_lines(self, period_key: str) -> list[tuple[Any, ...]]:
        """(account, code, description, quantity, amount), as text, of the period's enterprise contract lines:
        add-ons, commitment true-ups, credits drawn, and seats counted on a contract's basis."""
        return self._rows(
            "SELECT account_id, code, description, toString(quantity), toString(amount) "
            f"FROM {self._db}.invoice_lines FINAL WHERE period = %(key)s AND (startsWith(code, 'addon:') "
            "OR startsWith(code, 'credit:') OR code = 'commitment_true_up' "
            "OR (code = 'seats' AND NOT endsWith(description, ' active seats'))) ORDER BY account_id, line_no",
            key=period_key,
        )

    def dead_letters(self) -> list[tuple[Any, ...]]:
        """(reason, count, an example detail) of every rejected event."""
        return self._rows(
            f"SELECT reason, count(), any(detail) FROM {self._db}.rejected_events FINAL GROUP BY reason ORDER BY reason"
        )

    def stripe_reports(self) -> list[tuple[Any, ...]]:
        """(meter, acknowledged reports, their total value)."""
        return self._rows(
            "SELECT mtr, count(), sum(val) FROM (SELECT identifier, any(meter) AS mtr, any(value) AS val "
            f"FROM {self._db}.stripe_reports WHERE outcome = 'acknowledged' GROUP BY identifier) "
            "GROUP BY mtr ORDER BY mtr"
        )

    def usage_by_day(self, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
        """(day, API calls, AI requests), as text, settled in [start, end)."""
        return self._rows(
            "SELECT toDate(hour) AS d, toString(sumIf(quantity, metric = 'api_calls')), "
            f"toString(sumIf(quantity, metric = 'ai_requests')) FROM {self._db}.usage_hourly FINAL "
            f"WHERE {_SPAN} GROUP BY d ORDER BY d",
            **self._span(start, end),
        )
