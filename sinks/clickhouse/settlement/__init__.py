"""Settlement's reads and writes in ClickHouse, one class per table group: deduplicated events in,
``usage_hourly``, ``rated_usage``, ``invoices``/``invoice_lines``, ``invoice_corrections``,
``settlement_runs`` and ``settlement_diffs`` out. Plain SQL that runs the same on a ClickHouse server and
on chDB.

Tables written again for the same key (ReplacingMergeTree) are read with ``FINAL`` so a re-settled
hour or a re-written line counts once even before a merge.
"""

from __future__ import annotations

from sinks.clickhouse.settlement.events import EventReads
from sinks.clickhouse.settlement.hourly import UsageHourly
from sinks.clickhouse.settlement.invoices import FinalizedInvoice, Invoices, invoice_id_of
from sinks.clickhouse.settlement.rated import RatedUsage
from sinks.clickhouse.settlement.rows import BillableHour, FinalLine
from sinks.clickhouse.settlement.runs import LastRun, SettlementRuns
from sinks.clickhouse.settlement.tables import EPOCH

__all__ = ["EPOCH", "BillableHour", "FinalLine", "FinalizedInvoice", "LastRun", "SettlementStore", "invoice_id_of"]


class SettlementStore(SettlementRuns, EventReads, UsageHourly, RatedUsage, Invoices):
    """The one object the settler, the reporters and reconciliation are given: every table group on
    one client and database."""
