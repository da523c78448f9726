"""The ClickHouse ledger of Stripe reports (``stripe_reports``): one row per attempt, written before
the reporter moves on, and the set of acknowledged identifiers that must never be sent again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from sinks.clickhouse.timefmt import ch_datetime
from sinks.errors import SinkRejected
from sinks.stripe.meter import Attempt


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

    def reported(self, since: datetime) -> dict[tuple[str, str, datetime], tuple[int, int]]:
        """(account, meter, window start) → (acknowledged reports, their total value) for windows from ``since``."""
        rows = self._client.query(
            "SELECT acc, mtr, win, count(), sum(val) FROM "
            "(SELECT identifier, any(account_id) AS acc, any(meter) AS mtr, "
            f"any(window_start) AS win, any(value) AS val FROM {self._table} WHERE outcome = 'acknowledged' "
            "AND window_start >= toDateTime64(%(since)s, 3, 'UTC') GROUP BY identifier) "
            "GROUP BY acc, mtr, win",
            parameters={"since": ch_datetime(since)},
        ).result_rows
        return {(a, m, _utc(w)): (int(n), int(v)) for a, m, w, n, v in rows}

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


def _utc(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
