"""``invoices``, ``invoice_lines`` and ``invoice_corrections``: finalized invoices and the corrections
late usage carries into later periods."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from rating.invoice import Correction, Invoice, InvoiceLine, LineTotal, totals_by_code
from rating.money import money_text
from rating.periods import Period
from sinks.clickhouse.settlement.rows import FinalLine
from sinks.clickhouse.settlement.tables import Tables, chunks, in_list
from sinks.clickhouse.timefmt import ch_datetime
from sinks.clickhouse.timefmt import ch_datetime64 as _dt
from sinks.clickhouse.timefmt import ch_literal as _lit
from sinks.clickhouse.timefmt import from_ch as _utc

_REISSUE_SUFFIX = re.compile(r"-r([1-9]\d{0,2})$")


def invoice_id_of(account_id: str, period: Period) -> str:
    """``in_<account>_<period>``, never truncated (two long account ids would collide): at most
    3 + 128 + 1 + 7 characters, as ``schemas.ids.INVOICE_ID_PATTERN`` allows."""
    return f"in_{account_id}_{period.key}"


def reissue_id(invoice_id: str) -> str:
    """The id of the invoice reissued in place of the void ``invoice_id``: ``<first id>-r<n+1>`` (``-r1`` for a
    settled invoice, ``-r2`` for the reissue of its void reissue ``-r1``...)."""
    m = _REISSUE_SUFFIX.search(invoice_id)
    if m is None:
        return f"{invoice_id}-r1"
    n = int(m.group(1)) + 1
    if n > 999:
        raise ValueError(f"{invoice_id} was reissued too often")
    return f"{invoice_id[: m.start()]}-r{n}"


@dataclass(frozen=True, slots=True)
class FinalizedInvoice:
    document: dict[str, Any]
    lines: dict[str, LineTotal]  # by code, correction lines left out


class Invoices(Tables):
    def final_lines(self, code: str, since: datetime) -> list[FinalLine]:
        """A line code's quantity on the invoices of periods ending from ``since``."""
        sql = (
            "SELECT l.account_id, i.period_start, i.period_end, toString(sum(l.quantity)) "
            f"FROM {self._db}.invoice_lines AS l FINAL INNER JOIN {self._db}.invoices AS i FINAL "
            "ON l.invoice_id = i.invoice_id "
            f"WHERE l.code = {_lit(code)} AND i.period_end >= {_dt(since)} "
            "GROUP BY l.account_id, i.period_start, i.period_end"
        )
        return [FinalLine(a, _utc(s), _utc(e), Decimal(q)) for a, s, e, q in self._rows(sql)]

    def earlier_amounts_many(
        self, accounts: Iterable[str], since: datetime, before: datetime
    ) -> dict[str, dict[str, Decimal]]:
        """Per account and line code, the amounts of the final invoices of periods starting in
        ``[since, before)``: what credit grants paid earlier, what a contract year charged so far."""
        return self._sums_by_code(
            accounts,
            lambda chunk: (
                "SELECT l.account_id, l.code, toString(sum(l.amount)) "
                f"FROM {self._db}.invoice_lines AS l FINAL INNER JOIN {self._db}.invoices AS i FINAL "
                "ON l.invoice_id = i.invoice_id "
                f"WHERE l.account_id IN {chunk} AND i.status = 'final' "
                f"AND i.period_start >= {_dt(since)} AND i.period_start < {_dt(before)} "
                "GROUP BY l.account_id, l.code"
            ),
        )

    def corrections_of_many(
        self, accounts: Iterable[str], sources_from: str, sources_before: str, not_target: str
    ) -> dict[str, dict[str, Decimal]]:
        """Per account and corrected line code, the corrections of the periods ``[sources_from, sources_before)``
        (period keys) carried by any invoice but ``not_target``'s: what a contract year's usage changed later."""
        return self._sums_by_code(
            accounts,
            lambda chunk: (
                f"SELECT account_id, code, toString(sum(amount)) FROM {self._db}.invoice_corrections FINAL "
                f"WHERE account_id IN {chunk} AND source_period >= {_lit(sources_from)} "
                f"AND source_period < {_lit(sources_before)} AND target_period != {_lit(not_target)} "
                "GROUP BY account_id, code"
            ),
        )

    def _sums_by_code(self, accounts: Iterable[str], sql: Callable[[str], str]) -> dict[str, dict[str, Decimal]]:
        """``{account: {code: amount}}`` of a query of (account, code, amount) rows, run per chunk of accounts
        (``sql`` gets the chunk's ``IN`` list)."""
        out: dict[str, dict[str, Decimal]] = {}
        for chunk in chunks(accounts):
            for acc, code, amount in self._rows(sql(in_list(chunk))):
                out.setdefault(acc, {})[code] = Decimal(amount)
        return out

    def finalized(self, account_id: str, period_key: str) -> FinalizedInvoice | None:
        return self.finalized_many([account_id], period_key).get(account_id)

    def finalized_many(self, accounts: Iterable[str], period_key: str) -> dict[str, FinalizedInvoice]:
        out = {}
        for chunk in chunks(accounts):
            for acc, document in self._rows(
                f"SELECT account_id, document FROM {self._db}.invoices FINAL WHERE account_id IN {in_list(chunk)} "
                f"AND period = {_lit(period_key)} AND status = 'final'"
            ):
                doc = orjson.loads(document)
                lines = [
                    InvoiceLine(
                        ln["code"],
                        ln.get("description", ""),
                        Decimal(ln["quantity"]),
                        Decimal(ln.get("unit_price", "0")),
                        Decimal(ln["amount"]),
                    )
                    for ln in doc["lines"]
                ]
                out[acc] = FinalizedInvoice(doc, totals_by_code(lines))
        return out

    def finalized_periods(self, account_id: str) -> set[str]:
        return self.finalized_periods_many([account_id]).get(account_id, set())

    def finalized_periods_many(self, accounts: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in chunks(accounts):
            for acc, period in self._rows(
                f"SELECT DISTINCT account_id, period FROM {self._db}.invoices WHERE account_id IN {in_list(chunk)}"
            ):
                out.setdefault(acc, set()).add(period)
        return out

    def write_invoices(self, invoices: Sequence[tuple[Invoice, str]], finalized_at: datetime) -> list[str]:
        """Lines first, then the headers: an invoice is final once its header exists, never with lines missing."""
        at = ch_datetime(finalized_at)
        lines, headers, ids = [], [], []
        for inv, tier in invoices:
            invoice_id = invoice_id_of(inv.account_id, inv.period)
            ids.append(invoice_id)
            doc = inv.to_document()
            doc["invoice_id"] = invoice_id
            start = ch_datetime(inv.period.start)[:19]
            common = {"invoice_id": invoice_id, "account_id": inv.account_id, "period": inv.period.key}
            common["period_start"] = start
            lines += [
                {
                    **common,
                    "line_no": i,
                    "code": ln.code,
                    "description": ln.description,
                    "quantity": f"{ln.quantity:f}",
                    "unit_price": f"{ln.unit_price:f}",
                    "amount": money_text(ln.amount),
                    "finalized_at": at,
                }
                for i, ln in enumerate(inv.lines)
            ]
            headers.append(
                {
                    **common,
                    "period_end": ch_datetime(inv.period.end)[:19],
                    "tier": tier,
                    "status": inv.status,
                    "currency": inv.currency,
                    "subtotal": money_text(inv.subtotal),
                    "total": money_text(inv.total),
                    "finalized_at": at,
                    "document": orjson.dumps(doc).decode(),
                }
            )
        self._insert("invoice_lines", lines)
        self._insert("invoices", headers)
        return ids

    def final_invoices(self, since: datetime) -> list[dict[str, Any]]:
        """Documents of the invoices finalized for periods ending from ``since`` (with ``invoice_id``)."""
        rows = self._rows(
            f"SELECT document FROM {self._db}.invoices FINAL WHERE status = 'final' AND period_end >= {_dt(since)} "
            "ORDER BY period_start, account_id"
        )
        return [orjson.loads(r[0]) for r in rows]

    def corrections_many(self, accounts: Iterable[str], target_period: str) -> dict[str, list[Correction]]:
        return {a: [c for c, _ in cs] for a, cs in self.corrections_found_many(accounts, target_period).items()}

    def corrections_found_many(
        self, accounts: Iterable[str], target_period: str
    ) -> dict[str, list[tuple[Correction, datetime]]]:
        """The corrections ``target_period`` carries, each with when it was found (its latest version's
        ``found_at``: the settled-history forecast backtest leaves out those found after its replay day)."""
        out: dict[str, list[tuple[Correction, datetime]]] = {}
        for chunk in chunks(accounts):
            sql = (
                "SELECT account_id, source_period, code, toString(quantity), toString(amount), found_at FROM "
                f"{self._db}.invoice_corrections FINAL WHERE account_id IN {in_list(chunk)} "
                f"AND target_period = {_lit(target_period)} AND amount != 0 ORDER BY source_period, code"
            )
            for acc, src, code, q, amt, found in self._rows(sql):
                qty = Decimal(q) if Decimal(q) else Decimal(1)
                correction = Correction(code, f"Correction of {src}: {code}", Decimal(amt), qty, src)
                out.setdefault(acc, []).append((correction, _utc(found)))
        return out

    def corrected(self, account_id: str, source_period: str) -> dict[tuple[str, str], LineTotal]:
        """(code, target period) → what was already carried for a finalized period."""
        sql = (
            "SELECT code, target_period, toString(quantity), toString(amount) FROM "
            f"{self._db}.invoice_corrections FINAL WHERE account_id = {_lit(account_id)} "
            f"AND source_period = {_lit(source_period)}"
        )
        return {(c, t): LineTotal(Decimal(q), Decimal(a)) for c, t, q, a in self._rows(sql)}

    def write_correction(
        self, account_id: str, source: str, code: str, target: str, quantity: Decimal, amount: Decimal, at: datetime
    ) -> None:
        self._insert(
            "invoice_corrections",
            [
                {
                    "account_id": account_id,
                    "source_period": source,
                    "code": code,
                    "target_period": target,
                    "quantity": f"{quantity:f}",
                    "amount": f"{amount:f}",
                    "found_at": ch_datetime(at),
                }
            ],
        )
