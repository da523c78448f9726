"""``rated_usage`` (settled lines per hour) and what of it was acknowledged by Stripe (``stripe_reports``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from rating.settle import RatedLine
from sinks.clickhouse.settlement.rows import BillableHour
from sinks.clickhouse.settlement.tables import Tables, chunks, in_list
from sinks.clickhouse.timefmt import ch_datetime
from sinks.clickhouse.timefmt import ch_datetime64 as _dt
from sinks.clickhouse.timefmt import ch_literal as _lit
from sinks.clickhouse.timefmt import from_ch as _utc


class RatedUsage(Tables):
    def write_rated(self, lines: Sequence[RatedLine], rated_at: datetime) -> None:
        at = ch_datetime(rated_at)
        self._insert(
            "rated_usage",
            [
                {
                    "account_id": ln.account_id,
                    "period": ln.period.key,
                    "period_start": ch_datetime(ln.period.start)[:19],
                    "metric": ln.metric,
                    "dimension": ln.dimension,
                    "hour": ch_datetime(ln.hour)[:19],
                    "kind": "settled",
                    "line_id": "",
                    "tier": ln.tier,
                    "quantity": f"{ln.quantity:f}",
                    "period_to_date": f"{ln.period_to_date:f}",
                    "included": f"{ln.included:f}",
                    "billable": f"{ln.billable:f}",
                    "unit_price": f"{ln.unit_price:f}",
                    "amount": f"{ln.amount:f}",
                    "catalog_version": ln.catalog_version,
                    "sub_version": ln.sub_version,
                    "rated_at": at,
                }
                for ln in lines
            ],
        )

    def billable_windows(self, since: datetime) -> list[BillableHour]:
        """Every settled hour from ``since`` that bills usage."""
        sql = (
            "SELECT account_id, metric, dimension, hour, toString(sum(billable)) FROM "
            f"{self._db}.rated_usage FINAL WHERE kind = 'settled' AND billable > 0 AND hour >= {_dt(since)} "
            "GROUP BY account_id, metric, dimension, hour ORDER BY hour, account_id, metric, dimension"
        )
        return [BillableHour(a, m, d, _utc(h), Decimal(b)) for a, m, d, h, b in self._rows(sql)]

    def billable_in(self, start: datetime, end: datetime) -> list[BillableHour]:
        """Each settled hour in [start, end) that bills usage."""
        sql = (
            "SELECT account_id, metric, dimension, hour, toString(sum(billable)) FROM "
            f"{self._db}.rated_usage FINAL WHERE kind = 'settled' AND billable > 0 "
            f"AND hour >= {_dt(start)} AND hour < {_dt(end)} GROUP BY account_id, metric, dimension, hour"
        )
        return [BillableHour(a, m, d, _utc(h), Decimal(b)) for a, m, d, h, b in self._rows(sql)]

    def reported_in(self, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
        """(account, meter) → acknowledged value of Stripe reports for windows in [start, end)."""
        sql = (
            "SELECT acc, mtr, sum(val) FROM (SELECT identifier, any(account_id) AS acc, any(meter) AS mtr, "
            f"any(value) AS val FROM {self._db}.stripe_reports WHERE outcome = 'acknowledged' "
            f"AND window_start >= {_dt(start)} AND window_start < {_dt(end)} GROUP BY identifier) GROUP BY acc, mtr"
        )
        return {(a, m): int(v) for a, m, v in self._rows(sql)}

    def period_totals_many(self, accounts: Iterable[str], period_key: str, kind: str) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        for chunk in chunks(accounts):
            sql = (
                f"SELECT account_id, metric, toString(sum(quantity)) FROM {self._db}.rated_usage FINAL "
                f"WHERE account_id IN {in_list(chunk)} AND period = {_lit(period_key)} AND kind = {_lit(kind)} "
                "AND metric IN ('api_calls', 'ai_requests', 'premium_feature') GROUP BY account_id, metric"
            )
            for a, m, q in self._rows(sql):
                out.setdefault(a, {})[m] = Decimal(q)
        return out

    def provisional_many(
        self, accounts: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[str, Decimal]]:
        """The live stage's provisional API calls and AI requests rated in [start, end), per account and metric
        (the forecast's live figures after the settled watermark, docs/forecasting.md)."""
        out: dict[str, dict[str, Decimal]] = {}
        for chunk in chunks(accounts):
            sql = (
                f"SELECT account_id, metric, toString(sum(quantity)) FROM {self._db}.rated_usage FINAL "
                f"WHERE account_id IN {in_list(chunk)} AND kind = 'provisional' AND hour >= {_dt(start)} "
                f"AND hour < {_dt(end)} AND metric IN ('api_calls', 'ai_requests') GROUP BY account_id, metric"
            )
            for a, m, q in self._rows(sql):
                out.setdefault(a, {})[m] = Decimal(q)
        return out
