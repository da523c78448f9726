"""The API's reads of settled data in ClickHouse: invoices, settled usage, the upcoming invoice.

The client comes from ``sinks.clickhouse.client.connect_clickhouse``: a ClickHouse server, the local
warehouse bridge when one serves the chDB directory, else embedded chDB (one process per directory:
never while a worker holds it). It is opened on first use, migrated (idempotent), and used by one
thread at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from rating.catalog.loader import Catalog
from rating.periods import Period, period_containing
from rating.settle import HistoryLookup
from sinks.clickhouse.settlement_store import SettlementStore
from sinks.clickhouse.timefmt import ch_datetime64, ch_literal, from_ch
from streams.api.errors import ApiError
from streams.settings import Settings
from streams.settlement.settler import Settler

_lit, _dt, _utc = ch_literal, ch_datetime64, from_ch
log = logging.getLogger(__name__)


def _unavailable(what: str, exc: Exception) -> ApiError:
    """503 without the driver's text (it names hosts, DSNs, SQL): that goes to the log only."""
    log.warning("%s: %s", what, exc)
    return ApiError(503, "warehouse_unavailable", f"{what}; retry later", {"Retry-After": "5"})


class Warehouse:
    def __init__(self, settings: Settings, connect: Callable[[], Any] | None = None) -> None:
        self._settings = settings
        self._db = settings.clickhouse_database
        self._connect = connect
        self._client: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._client is None:
            from sinks.clickhouse.client import connect_clickhouse
            from sinks.clickhouse.migrations import migrate

            try:
                client = self._connect() if self._connect else connect_clickhouse(self._settings)
                migrate(client, self._db, datetime.now(UTC))
            except Exception as exc:
                raise _unavailable("ClickHouse is not available", exc) from exc
            self._client = client
        return self._client

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

    def invoices(self, accounts: list[str]) -> list[dict[str, Any]]:
        if not accounts:
            return []
        acc = ",".join(_lit(a) for a in sorted(set(accounts)))
        sql = (
            "SELECT invoice_id, account_id, period, period_start, period_end, tier, status, currency, "
            f"toString(total), finalized_at FROM {self._db}.invoices FINAL WHERE account_id IN ({acc}) "
            "ORDER BY period_start DESC, account_id"
        )
        keys = ("invoice_id", "account_id", "period", "period_start", "period_end", "tier", "status", "currency")
        out = []
        for r in self.rows(sql):
            doc = dict(zip(keys, r[:8], strict=True))
            doc["period_start"], doc["period_end"] = _utc(r[3]), _utc(r[4])
            doc["total"] = f"{Decimal(r[8]):.2f}"
            doc["finalized_at"] = _utc(r[9])
            out.append(doc)
        return out

    def invoice(self, invoice_id: str) -> tuple[str, dict[str, Any]] | None:
        """(account, document) of a finalized invoice."""
        rows = self.rows(
            f"SELECT account_id, document FROM {self._db}.invoices FINAL WHERE invoice_id = {_lit(invoice_id)} LIMIT 1"
        )
        if not rows:
            return None
        doc = orjson.loads(rows[0][1])
        doc.setdefault("invoice_id", invoice_id)
        return str(rows[0][0]), doc

    def stripe_invoice(self, invoice_id: str) -> str | None:
        """The Stripe invoice a finalized invoice was pushed to (``stripe_invoicing``: acknowledged in
        ``stripe_reports``, the Stripe id as the message), or None if it is not mirrored in Stripe."""
        from streams.settlement.stripe_invoicing import INVOICE_METER, invoice_identifier

        rows = self.rows(
            f"SELECT message FROM {self._db}.stripe_reports WHERE identifier = {_lit(invoice_identifier(invoice_id))} "
            f"AND meter = {_lit(INVOICE_METER)} AND outcome = 'acknowledged' ORDER BY at DESC LIMIT 1"
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def upcoming(self, catalog: Catalog, histories: HistoryLookup, account: str, period: Period) -> dict[str, Any]:
        """The draft invoice of ``period`` from the usage settled so far (the finalized one if closed)."""
        with self._lock:
            client = self._open()
            settler = Settler(SettlementStore(client, self._db), catalog, histories, lambda: [])
            try:
                doc = settler.document(account, period)
            except Exception as exc:
                raise _unavailable("cannot compute the invoice", exc) from exc
        if doc is None:
            raise ApiError(404, "not_found", f"no invoice for {account} in {period.key}")
        return doc

    # -- settled usage ----------------------------------------------------------------------------------

    def usage_days(
        self,
        account: str,
        start: datetime,
        end: datetime,
        *,
        metric: str | None = None,
        user_id: str | None = None,
        by_user: bool = False,
    ) -> list[tuple[date, str, str | None, Decimal, int]]:
        """(day, metric, user or None, quantity, events) from ``usage_hourly``; storage_gb: the day's
        highest hourly reading, others: the sum."""
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
            "GROUP BY d, metric, u ORDER BY d, metric, u"
        )
        return [(r[0], str(r[1]), str(r[2]) or None, Decimal(r[3]), int(r[4])) for r in self.rows(sql)]


def by_period(
    days: list[tuple[date, str, str | None, Decimal, int]], anchor: date
) -> list[tuple[Period, str, str | None, Decimal, int]]:
    """Daily rows rolled up into the account's usage periods (storage_gb: the highest reading)."""
    acc: dict[tuple[Period, str, str | None], tuple[Decimal, int]] = {}
    for d, metric, user, qty, events in days:
        p = period_containing(anchor, datetime(d.year, d.month, d.day, tzinfo=UTC))
        q0, e0 = acc.get((p, metric, user), (Decimal(0), 0))
        q = max(q0, qty) if metric == "storage_gb" else q0 + qty
        acc[(p, metric, user)] = (q, e0 + events)
    return [
        (p, m, u, q, e)
        for (p, m, u), (q, e) in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
    ]


DAY = timedelta(days=1)
