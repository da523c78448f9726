"""Reads of settled data in ClickHouse: invoices, settled usage, Stripe acknowledgements.

Every failure is raised as ``WarehouseUnavailable`` whose message is safe to show (the driver's text
names hosts, DSNs and SQL: it goes to the log only); the billing API maps it to a 503 in
``streams/api/errors.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

from sinks.clickhouse.timefmt import ch_datetime, ch_datetime64, ch_literal, from_ch
from sinks.errors import SinkUnavailable

_lit, _dt, _utc = ch_literal, ch_datetime64, from_ch
log = logging.getLogger(__name__)


class WarehouseUnavailable(SinkUnavailable):
    """ClickHouse could not be opened or a read failed; the message holds no driver text."""


@dataclass(frozen=True, slots=True)
class DimensionUsage:
    """Settled use of one metric's dimension (``ai_requests``: ``provider/model``; ``premium_feature``: the
    feature) over a window, and what the settled rated lines charge for it (USD, full precision)."""

    metric: str
    dimension: str
    quantity: Decimal
    events: int
    input_tokens: int
    output_tokens: int
    charge: Decimal


def _unavailable(what: str, exc: Exception) -> WarehouseUnavailable:
    log.warning("%s: %s", what, exc)
    return WarehouseUnavailable(f"{what}; retry later")


class SettledReads:
    """One ClickHouse client, opened on first use, migrated (idempotent), used by one thread at a time."""

    def __init__(self, connect: Callable[[], Any], database: str) -> None:
        self._connect = connect
        self._db = database
        self._client: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._client is None:
            from sinks.clickhouse.migrations import migrate

            try:
                client = self._connect()
                migrate(client, self._db, datetime.now(UTC))
            except Exception as exc:
                raise _unavailable("ClickHouse is not available", exc) from exc
            self._client = client
        return self._client

    @contextmanager
    def client(self) -> Iterator[Any]:
        """The open client, held under the lock (for callers that run several queries)."""
        with self._lock:
            yield self._open()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._lock:
            client = self._open()
            try:
                return [tuple(r) for r in client.query(sql).result_rows]
            except Exception as exc:
                raise _unavailable("ClickHouse query failed", exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None

    # -- invoices ---------------------------------------------------------------------------------------

    _INVOICE_COLUMNS = (
        "SELECT invoice_id, account_id, period, period_start, period_end, tier, status, currency, "
        "toString(total), finalized_at FROM {table} "
    )

    def _invoice_docs(self, where_order: str, table: str = "v_invoice_documents") -> list[dict[str, Any]]:
        keys = ("invoice_id", "account_id", "period", "period_start", "period_end", "tier", "status", "currency")
        out = []
        for r in self.rows(self._INVOICE_COLUMNS.format(table=f"{self._db}.{table}") + where_order):
            doc = dict(zip(keys, r[:8], strict=True))
            doc["period_start"], doc["period_end"] = _utc(r[3]), _utc(r[4])
            doc["total"] = f"{Decimal(r[8]):.2f}"
            doc["finalized_at"] = _utc(r[9])
            out.append(doc)
        return out

    def invoices(self, accounts: list[str]) -> list[dict[str, Any]]:
        """The accounts' invoices, reissues included (``v_invoice_documents``), newest period first."""
        if not accounts:
            return []
        acc = ",".join(_lit(a) for a in sorted(set(accounts)))
        return self._invoice_docs(
            f"WHERE account_id IN ({acc}) ORDER BY period_start DESC, account_id, finalized_at DESC, invoice_id"
        )

    def finalized_since(self, since: datetime, limit: int = 1_000) -> list[dict[str, Any]]:
        """Invoices settlement finalized at or after ``since``, oldest first (what the collection loop opens; a
        reissue is opened by its reissue)."""
        return self._invoice_docs(
            f"WHERE finalized_at >= {_dt(since)} ORDER BY finalized_at, invoice_id LIMIT {int(limit)}",
            "invoices FINAL",
        )

    def invoice(self, invoice_id: str) -> tuple[str, dict[str, Any]] | None:
        """(account, document) of a finalized invoice or of a reissue (``reissue_of`` then names the void one)."""
        rows = self.rows(
            f"SELECT account_id, document, finalized_at, reissue_of FROM {self._db}.v_invoice_documents "
            f"WHERE invoice_id = {_lit(invoice_id)} LIMIT 1"
        )
        if not rows:
            return None
        doc = orjson.loads(rows[0][1])
        doc.setdefault("invoice_id", invoice_id)
        doc.setdefault("finalized_at", _utc(rows[0][2]).isoformat())
        if rows[0][3]:
            doc["reissue_of"] = str(rows[0][3])
        return str(rows[0][0]), doc

    def write_reissue(self, invoice_id: str, reissue_of: str, finalized_at: datetime) -> None:
        """The document of ``reissue_of`` (a finalized invoice or a reissue) copied as ``invoice_id``'s, issued at
        ``finalized_at``: the same lines and totals under its own id. Idempotent (the same row again is one)."""
        src = self.rows(
            "SELECT account_id, period, period_start, period_end, tier, currency, toString(subtotal), "
            f"toString(total), document FROM {self._db}.v_invoice_documents WHERE invoice_id = {_lit(reissue_of)} "
            "LIMIT 1"
        )
        if not src:
            raise LookupError(f"no invoice document {reissue_of}")
        account, period, start, end, tier, currency, subtotal, total, document = src[0]
        doc = orjson.loads(document)
        doc.update(invoice_id=invoice_id, reissue_of=reissue_of, finalized_at=finalized_at.isoformat())
        row = {
            "invoice_id": invoice_id,
            "reissue_of": reissue_of,
            "account_id": account,
            "period": period,
            "period_start": ch_datetime(_utc(start))[:19],
            "period_end": ch_datetime(_utc(end))[:19],
            "tier": tier,
            "status": "final",
            "currency": currency,
            "subtotal": subtotal,
            "total": total,
            "finalized_at": ch_datetime(finalized_at),
            "document": orjson.dumps(doc).decode(),
        }
        body = orjson.dumps(row) + b"\n"
        with self.client() as client:
            try:
                client.raw_insert(f"{self._db}.invoice_reissues", None, insert_block=body, fmt="JSONEachRow")
            except Exception as exc:
                raise _unavailable("cannot write the reissued invoice", exc) from exc

    def acknowledged_report(self, identifier: str, meter: str) -> str | None:
        """The message of the latest acknowledged ``stripe_reports`` row for (identifier, meter)."""
        rows = self.rows(
            f"SELECT message FROM {self._db}.stripe_reports WHERE identifier = {_lit(identifier)} "
            f"AND meter = {_lit(meter)} AND outcome = 'acknowledged' ORDER BY at DESC LIMIT 1"
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    # -- settled usage ----------------------------------------------------------------------------------

    def usage_by_dimension(
        self, account: str, start: datetime, end: datetime, metrics: tuple[str, ...]
    ) -> list[DimensionUsage]:
        """Per (metric, dimension) of ``metrics``, the settled hours of ``[start, end)`` from ``usage_hourly`` and
        their charge from the settled ``rated_usage`` lines, biggest charge first."""
        where = (
            f"account_id = {_lit(account)} AND hour >= {_dt(start)} AND hour < {_dt(end)} "
            f"AND metric IN ({','.join(_lit(m) for m in metrics)})"
        )
        sql = (
            "SELECT u.metric, u.dimension, toString(u.q), u.e, u.i, u.o, toString(r.amount) "
            "FROM (SELECT metric, dimension, sum(quantity) AS q, sum(events) AS e, sum(input_tokens) AS i, "
            f"sum(output_tokens) AS o FROM {self._db}.usage_hourly FINAL WHERE {where} "
            "GROUP BY metric, dimension HAVING e > 0) AS u "
            "LEFT JOIN (SELECT metric, dimension, sum(amount) AS amount "
            f"FROM {self._db}.rated_usage FINAL WHERE kind = 'settled' AND {where} GROUP BY metric, dimension) AS r "
            "ON u.metric = r.metric AND u.dimension = r.dimension"
        )
        rows = [
            DimensionUsage(str(r[0]), str(r[1]), Decimal(r[2]), int(r[3]), int(r[4]), int(r[5]), Decimal(r[6]))
            for r in self.rows(sql)
        ]
        return sorted(rows, key=lambda d: (d.metric, -d.charge, -d.quantity, d.dimension))

    def usage_days(
        self,
        account: str,
        start: datetime,
        end: datetime,
        *,
        metric: str | None = None,
        user_id: str | None = None,
        by_user: bool = False,
        limit: int | None = None,
    ) -> list[tuple[date, str, str | None, Decimal, int]]:
        """(day, metric, user or None, quantity, events) from ``usage_hourly``; storage_gb: the day's
        highest hourly reading, others: the sum. ``limit``: at most that many rows, the earliest."""
        where = [f"account_id = {_lit(account)}", f"hour >= {_dt(start)}", f"hour < {_dt(end)}"]
        if metric:
            where.append(f"metric = {_lit(metric)}")
        if user_id:
            where.append(f"user_id = {_lit(user_id)}")
        user_col = "user_id" if by_user or user_id else "''"
        sql = (
            f"SELECT toDate(hour) AS d, metric, {user_col} AS u, "
            "toString(if(metric = 'storage_gb', max(q), sum(q))), sum(e) FROM ("
            "SELECT hour, metric, user_id, sum(quantity) AS q, sum(events) AS e "
            f"FROM {self._db}.usage_hourly FINAL WHERE {' AND '.join(where)} "
            "GROUP BY hour, metric, user_id) "
            "GROUP BY d, metric, u ORDER BY d, metric, u" + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        return [(r[0], str(r[1]), str(r[2]) or None, Decimal(r[3]), int(r[4])) for r in self.rows(sql)]
