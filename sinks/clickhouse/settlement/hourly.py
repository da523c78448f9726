"""``usage_hourly``: settled usage per account, user, metric, dimension and hour."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rating.money import ZERO
from rating.settle import HourlyUsage
from sinks.clickhouse.settlement.tables import Tables, chunks, in_list
from sinks.clickhouse.timefmt import ch_datetime, ch_literal
from sinks.clickhouse.timefmt import ch_datetime64 as _dt
from sinks.clickhouse.timefmt import from_ch as _utc

# The key and tier of a row, in the order ``_usage`` reads them.
KEY_COLUMNS = "account_id, routing_account, user_id, metric, dimension, hour, sub_version, tier"


def _usage(
    key: Sequence[Any],
    quantity: Decimal = ZERO,
    events: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    ai_cost: Decimal = ZERO,
) -> HourlyUsage:
    """A row from its ``KEY_COLUMNS`` values and its amounts (none: keys and tier only)."""
    a, r, u, m, d, h, v, t = key
    return HourlyUsage(
        account_id=a,
        routing_account=r,
        user_id=u,
        metric=m,
        dimension=d,
        hour=_utc(h),
        sub_version=int(v),
        tier=t,
        quantity=quantity,
        events=events,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        ai_cost=ai_cost,
    )


class UsageHourly(Tables):
    def write_hourly(self, rows: Sequence[HourlyUsage], settled_at: datetime) -> None:
        at = ch_datetime(settled_at)
        self._insert(
            "usage_hourly",
            [
                {
                    "account_id": r.account_id,
                    "routing_account": r.routing_account,
                    "user_id": r.user_id,
                    "metric": r.metric,
                    "dimension": r.dimension,
                    "hour": ch_datetime(r.hour)[:19],
                    "sub_version": r.sub_version,
                    "tier": r.tier,
                    "quantity": f"{r.quantity:f}",
                    "events": r.events,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "ai_cost": f"{r.ai_cost:f}",
                    "settled_at": at,
                }
                for r in rows
            ],
        )

    def hourly_keys(self, pairs: dict[datetime, set[str]]) -> list[HourlyUsage]:
        """The live (not retracted) rows of the given routing accounts per hour: keys and tier only."""
        if not pairs:
            return []
        start, end = min(pairs), max(pairs) + timedelta(hours=1)
        out: list[HourlyUsage] = []
        for chunk in chunks(set().union(*pairs.values())):
            sql = (
                f"SELECT {KEY_COLUMNS} FROM {self._db}.usage_hourly FINAL "
                f"WHERE hour >= {_dt(start)} AND hour < {_dt(end)} "
                f"AND routing_account IN {in_list(chunk)} AND events > 0"
            )
            for row in self._rows(sql):
                usage = _usage(row)
                if usage.routing_account in pairs.get(usage.hour, ()):
                    out.append(usage)
        return out

    def hourly_many(self, accounts: Iterable[str], start: datetime, end: datetime) -> dict[str, list[HourlyUsage]]:
        """Settled hourly rows in [start, end) of each account, in one query per chunk of accounts."""
        out: dict[str, list[HourlyUsage]] = {}
        for chunk in chunks(accounts):
            sql = (
                f"SELECT {KEY_COLUMNS}, toString(quantity), events, input_tokens, output_tokens, toString(ai_cost) "
                f"FROM {self._db}.usage_hourly FINAL WHERE account_id IN {in_list(chunk)} "
                f"AND hour >= {_dt(start)} AND hour < {_dt(end)}"
            )
            for *key, q, n, it, ot, c in self._rows(sql):
                usage = _usage(key, Decimal(q), int(n), int(it), int(ot), Decimal(c))
                out.setdefault(usage.account_id, []).append(usage)
        return out

    def accounts_with_usage(self, start: datetime, end: datetime) -> set[str]:
        sql = (
            f"SELECT DISTINCT account_id FROM {self._db}.usage_hourly WHERE hour >= {_dt(start)} AND hour < {_dt(end)}"
        )
        return {r[0] for r in self._rows(sql)}

    def typical_daily(self, tier: str, start: datetime, end: datetime) -> dict[str, float]:
        """The median daily API calls and AI requests over [start, end) of the accounts of ``tier`` that used
        them: the profile an account without history is forecast on (docs/forecasting.md)."""
        days = max((end - start) / timedelta(days=1), 1.0)
        sql = (
            f"SELECT metric, quantile(0.5)(q) FROM (SELECT account_id, metric, toFloat64(sum(quantity)) / {days} AS q "
            f"FROM {self._db}.usage_hourly FINAL WHERE hour >= {_dt(start)} AND hour < {_dt(end)} "
            f"AND tier = {ch_literal(tier)} AND metric IN ('api_calls', 'ai_requests') "
            "GROUP BY account_id, metric HAVING q > 0) GROUP BY metric"
        )
        return {str(m): float(q) for m, q in self._rows(sql)}
