"""``receivable_history`` and ``receivables``: the billing store's receivable changes mirrored for analysts
(docs/analytics.md, "Receivables"), and the analyst queries that document names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sinks.clickhouse.settlement.tables import Tables
from sinks.clickhouse.timefmt import ch_datetime


@dataclass(frozen=True, slots=True)
class ReceivableChange:
    event_id: int
    invoice_id: str
    account_id: str
    number: str
    currency: str
    status: str
    amount_due: int
    amount_paid: int
    issued_at: datetime
    due_date: date
    reason: str
    at: datetime

    def row(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "invoice_id": self.invoice_id,
            "account_id": self.account_id,
            "number": self.number,
            "currency": self.currency,
            "status": self.status,
            "amount_due": self.amount_due,
            "amount_paid": self.amount_paid,
            "issued_at": ch_datetime(self.issued_at),
            "due_date": self.due_date.isoformat(),
            "reason": self.reason,
            "at": ch_datetime(self.at),
        }


class Receivables(Tables):
    def last_event_id(self) -> int:
        """The latest change mirrored (0: none)."""
        rows = self._rows(f"SELECT max(event_id) FROM {self._db}.receivable_history")
        return int(rows[0][0] or 0) if rows else 0

    def write(self, changes: Sequence[ReceivableChange]) -> None:
        """History first, then the latest states: a crash between them is repaired by mirroring again."""
        if not changes:
            return
        rows = [c.row() for c in changes]
        self._insert("receivable_history", rows)
        self._insert("receivables", rows)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._rows(sql.format(db=self._db))
