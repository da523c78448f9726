"""The ClickHouse ledger of Stripe reports (``stripe_reports``): one row per attempt, written before
the reporter moves on, and the set of acknowledged identifiers that must never be sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from sinks.errors import SinkRejected
from sinks.stripe_meter import Attempt
from sinks.timefmt import ch_datetime


class ClickHouseReportLedger:
    def __init__(self, client: Any, database: str) -> None:
        self._client, self._table = client, f"{database}.stripe_reports"
        self._acked: set[str] = set()

    def load(self, since: datetime) -> int:
        """Prime the acknowledged set with every report of windows from ``since`` on; returns how many."""
        rows = self._client.query(
            f"SELECT DISTINCT identifier FROM {self._table} WHERE outcome = 'acknowledged' "
            "AND window_start >= toDateTime64(%(since)s, 3, 'UTC')",
            parameters={"since": ch_datetime(since)},
        ).result_rows
        self._acked |= {r[0] for r in rows}
        return len(rows)

    def acknowledged(self, identifier: str) -> bool:
        return identifier in self._acked

    def record(self, attempt: Attempt) -> None:
        row = orjson.dumps(
            {
                "identifier": attempt.identifier,
                "account_id": attempt.account_id,
                "meter": attempt.meter,
                "window_start": ch_datetime(attempt.window_start),
                "value": attempt.value,
                "attempt": attempt.attempt,
                "outcome": attempt.outcome,
                "http_status": attempt.http_status,
                "message": attempt.message,
                "at": ch_datetime(attempt.at),
            }
        )
        try:
            self._client.raw_insert(self._table, None, insert_block=row + b"\n", fmt="JSONEachRow")
        except Exception as exc:  # the report must not proceed unrecorded
            raise SinkRejected(f"cannot record the Stripe report {attempt.identifier}: {exc}") from exc
        if attempt.outcome == "acknowledged":
            self._acked.add(attempt.identifier)
