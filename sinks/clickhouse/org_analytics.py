"""Monthly trends of one organization for its admin panel's analytics (issue 17): settled usage per calendar
month, member and metric with its AI cost (``usage_hourly``), and usage per month and module (the events'
``module`` property, from the deduplicated raw ``events``: settled hours do not keep it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sinks.clickhouse.timefmt import ch_datetime64, ch_literal
from sinks.clickhouse.usage_queries import SettledReads


@dataclass(frozen=True, slots=True)
class MonthUse:
    month: date
    user_id: str
    metric: str
    quantity: Decimal  # storage_gb: the month's highest hourly reading
    events: int
    ai_cost: Decimal


@dataclass(frozen=True, slots=True)
class ModuleUse:
    month: date
    module: str  # "" when the events named none
    metric: str
    quantity: Decimal
    events: int


def monthly_use(reads: SettledReads, database: str, account: str, start: datetime, end: datetime) -> list[MonthUse]:
    sql = (
        "SELECT toStartOfMonth(hour) AS m, user_id, metric, "
        "toString(if(metric = 'storage_gb', max(q), sum(q))), sum(e), toString(sum(c)) FROM ("
        "SELECT hour, user_id, metric, sum(quantity) AS q, sum(events) AS e, sum(ai_cost) AS c "
        f"FROM {database}.usage_hourly FINAL WHERE account_id = {ch_literal(account)} "
        f"AND hour >= {ch_datetime64(start)} AND hour < {ch_datetime64(end)} GROUP BY hour, user_id, metric) "
        "GROUP BY m, user_id, metric ORDER BY m, user_id, metric"
    )
    return [MonthUse(r[0], str(r[1]), str(r[2]), Decimal(r[3]), int(r[4]), Decimal(r[5])) for r in reads.rows(sql)]


def monthly_modules(
    reads: SettledReads, database: str, account: str, start: datetime, end: datetime
) -> list[ModuleUse]:
    sql = (
        "SELECT toStartOfMonth(timestamp) AS m, module, metric, toString(sum(quantity)), count() FROM ("
        "SELECT timestamp, properties['module'] AS module, metric, quantity "
        f"FROM {database}.events WHERE account_id = {ch_literal(account)} AND metric != 'storage_gb' "
        f"AND timestamp >= {ch_datetime64(start)} AND timestamp < {ch_datetime64(end)} "
        "LIMIT 1 BY source, event_id) GROUP BY m, module, metric ORDER BY m, module, metric"
    )
    return [ModuleUse(r[0], str(r[1]), str(r[2]), Decimal(r[3]), int(r[4])) for r in reads.rows(sql)]
