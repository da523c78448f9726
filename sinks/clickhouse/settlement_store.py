"""Settlement's reads and writes in ClickHouse: deduplicated events in, ``usage_hourly``,
``rated_usage``, ``invoices``/``invoice_lines``, ``invoice_corrections``, ``settlement_runs`` and
``settlement_diffs`` out. Plain SQL that runs the same on a ClickHouse server and on chDB.

Tables written again for the same key (ReplacingMergeTree) are read with ``FINAL`` so a re-settled
hour or a re-written line counts once even before a merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from rating.aggregation import GaugeState
from rating.invoice import Correction, Invoice
from rating.money import ZERO, money_text
from rating.periods import Period
from rating.settle import HistoryLookup, HourlyUsage, RatedLine, SettledEvent, storage_gauge
from rating.subscriptions import billable_since, billing_account
from sinks.clickhouse.row_sink import classify
from sinks.clickhouse.timefmt import ch_datetime, ch_datetime64, ch_literal, from_ch
from sinks.errors import SinkRejected

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_lit, _dt, _utc = ch_literal, ch_datetime64, from_ch


def invoice_id_of(account_id: str, period: Period) -> str:
    """``in_<account>_<period>``, never truncated (two long account ids would collide): at most
    3 + 128 + 1 + 7 characters, as the API's invoice id pattern allows."""
    return f"in_{account_id}_{period.key}"


def _from_ms(ts_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ts_ms)


def _in_list(values: Iterable[str]) -> str:
    return "(" + ",".join(_lit(v) for v in values) + ")"


def _chunks(values: Iterable[str], size: int = 5000) -> list[list[str]]:
    """Accounts in IN-lists of a bounded size (one query per chunk)."""
    items = sorted(set(values))
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True, slots=True)
class LastRun:
    until: datetime
    stored_until: datetime


@dataclass(frozen=True, slots=True)
class FinalizedInvoice:
    document: dict[str, Any]
    lines: dict[str, tuple[Decimal, Decimal]]  # code → (quantity, amount), correction lines left out


class SettlementStore:
    def __init__(self, client: Any, database: str) -> None:
        self._c, self._db = client, database

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self._c.query(sql).result_rows]
        except Exception as exc:  # the driver's own errors, as retriable or final sink errors
            raise classify(exc) from exc

    def _insert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(rows), 100_000):
            part = rows[i : i + 100_000]
            body = b"\n".join(orjson.dumps(r) for r in part) + b"\n"
            try:
                self._c.raw_insert(f"{self._db}.{table}", None, insert_block=body, fmt="JSONEachRow")
            except Exception as exc:
                raise SinkRejected(f"cannot write {len(part)} rows to {self._db}.{table}: {exc}") from exc

    # -- runs and dirty windows -------------------------------------------------------------------

    def last_run(self) -> LastRun | None:
        rows = self._rows(f"SELECT max(until), max(stored_until), count() FROM {self._db}.settlement_runs")
        if not rows or not rows[0][2]:
            return None
        return LastRun(_utc(rows[0][0]), _utc(rows[0][1]))

    def record_run(
        self, run_at: datetime, until: datetime, after: datetime, upto: datetime, counts: dict[str, int]
    ) -> None:
        self._insert(
            "settlement_runs",
            [
                {
                    "run_at": ch_datetime(run_at),
                    "until": ch_datetime(until)[:19],
                    "stored_after": ch_datetime(after),
                    "stored_until": ch_datetime(upto),
                    **counts,
                }
            ],
        )

    def first_event_hour(self) -> datetime | None:
        rows = self._rows(f"SELECT min(toStartOfHour(timestamp)), count() FROM {self._db}.events")
        return _utc(rows[0][0]) if rows and rows[0][1] else None

    def dirty_hours(
        self, closed_from: datetime, until: datetime, stored_after: datetime, stored_until: datetime
    ) -> dict[datetime, set[str]]:
        """Routing accounts per hour to recompute: every hour newly closed in [closed_from, until), and
        earlier hours that received events stored in (stored_after, stored_until]."""
        sql = (
            f"SELECT toStartOfHour(timestamp) AS h, groupUniqArray(account_id) FROM {self._db}.events "
            f"WHERE timestamp < {_dt(until)} AND (timestamp >= {_dt(closed_from)} OR "
            f"(stored_at > {_dt(stored_after)} AND stored_at <= {_dt(stored_until)})) GROUP BY h ORDER BY h"
        )
        return {_utc(h): set(accs) for h, accs in self._rows(sql)}

    def events(self, start: datetime, end: datetime, accounts: Iterable[str] | None = None) -> list[SettledEvent]:
        """The events of [start, end), deduplicated by (source, event_id) (of the given routing accounts)."""
        where = f"timestamp >= {_dt(start)} AND timestamp < {_dt(end)}"
        if accounts is not None:
            where += f" AND account_id IN {_in_list(sorted(accounts))}"
        sql = (
            "SELECT event_id, account_id, user_id, org_id, metric, toString(quantity), ts_ms, feature, provider, "
            f"model, input_tokens, output_tokens FROM {self._db}.events WHERE {where} LIMIT 1 BY source, event_id"
        )
        return [
            SettledEvent(
                event_id=r[0],
                routing_account=r[1],
                user_id=r[2],
                org_id=r[3] or None,
                metric=r[4],
                quantity=Decimal(r[5]),
                ts_ms=int(r[6]),
                feature=r[7] or "",
                provider=r[8] or "",
                model=r[9] or "",
                input_tokens=int(r[10]),
                output_tokens=int(r[11]),
            )
            for r in self._rows(sql)
        ]

    # -- usage_hourly ------------------------------------------------------------------------------

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
        for chunk in _chunks(set().union(*pairs.values())):
            sql = (
                "SELECT account_id, routing_account, user_id, metric, dimension, hour, sub_version, tier "
                f"FROM {self._db}.usage_hourly FINAL WHERE hour >= {_dt(start)} AND hour < {_dt(end)} "
                f"AND routing_account IN {_in_list(chunk)} AND events > 0"
            )
            for a, r, u, m, d, h, v, t in self._rows(sql):
                hour = _utc(h)
                if r in pairs.get(hour, ()):
                    out.append(HourlyUsage(a, r, u, m, d, hour, int(v), t, ZERO, 0))
        return out

    def hourly(self, account_id: str, start: datetime, end: datetime) -> list[HourlyUsage]:
        return self.hourly_many([account_id], start, end).get(account_id, [])

    def hourly_many(self, accounts: Iterable[str], start: datetime, end: datetime) -> dict[str, list[HourlyUsage]]:
        """Settled hourly rows in [start, end) of each account, in one query per chunk of accounts."""
        out: dict[str, list[HourlyUsage]] = {}
        for chunk in _chunks(accounts):
            sql = (
                "SELECT account_id, routing_account, user_id, metric, dimension, hour, sub_version, tier, "
                "toString(quantity), events, input_tokens, output_tokens, toString(ai_cost) "
                f"FROM {self._db}.usage_hourly FINAL WHERE account_id IN {_in_list(chunk)} "
                f"AND hour >= {_dt(start)} AND hour < {_dt(end)}"
            )
            for r in self._rows(sql):
                out.setdefault(r[0], []).append(
                    HourlyUsage(
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        _utc(r[5]),
                        int(r[6]),
                        r[7],
                        Decimal(r[8]),
                        int(r[9]),
                        int(r[10]),
                        int(r[11]),
                        Decimal(r[12]),
                    )
                )
        return out

    def accounts_with_usage(self, start: datetime, end: datetime) -> set[str]:
        sql = (
            f"SELECT DISTINCT account_id FROM {self._db}.usage_hourly WHERE hour >= {_dt(start)} AND hour < {_dt(end)}"
        )
        return {r[0] for r in self._rows(sql)}

    def storage(self, account_id: str, period: Period, histories: HistoryLookup) -> GaugeState:
        return self.storage_many([account_id], period, histories)[account_id]

    def storage_many(self, accounts: Iterable[str], period: Period, histories: HistoryLookup) -> dict[str, GaugeState]:
        """Each account's storage readings in the period and the last one before it: the readings billed
        to it at their own time (an organization's while it is billable, else its user's; docs/rating.md),
        wherever they were taken."""
        wanted = list(accounts)
        carried: dict[str, tuple[int, str, Decimal]] = {}
        inside: dict[str, list[tuple[int, str, Decimal]]] = {}

        def billed(user: str, org: str | None, ts_ms: int) -> str:
            return billing_account(org, user, histories(org) if org else None, _from_ms(ts_ms))[0]

        def carry(user: str, org: str | None, reading: tuple[int, str, Decimal]) -> str:
            acc = billed(user, org, reading[0])
            if acc in accounts_set and reading[:2] > carried.get(acc, (-1, "", ZERO))[:2]:
                carried[acc] = reading
            return acc

        accounts_set = set(wanted)
        for chunk in _chunks(wanted):
            ids = _in_list(chunk)
            # Routed to the account (its own readings, or its organization's), or taken by the user anywhere.
            base = (
                f"FROM {self._db}.events WHERE metric = 'storage_gb' "
                f"AND (account_id IN {ids} OR (org_id IS NOT NULL AND user_id IN {ids}))"
            )
            for user, org, t, e, q in self._rows(
                f"SELECT user_id, org_id, ts_ms, event_id, toString(quantity) {base} "
                f"AND timestamp >= {_dt(period.start)} AND timestamp < {_dt(period.end)} LIMIT 1 BY source, event_id"
            ):
                acc = billed(user, org or None, int(t))
                if acc in accounts_set:
                    inside.setdefault(acc, []).append((int(t), e, Decimal(q)))
            last = "argMax(tuple(ts_ms, event_id, toString(quantity)), (ts_ms, event_id))"
            for user, org, (t, e, q) in self._rows(
                f"SELECT user_id, org_id, {last} {base} AND timestamp < {_dt(period.start)} GROUP BY user_id, org_id"
            ):
                reading = (int(t), e, Decimal(q))
                org = org or None
                # The pair's last reading went to one side; while the other is owed an earlier one that could
                # still be its latest, step back over the organization's billability changes.
                while org is not None:
                    acc = carry(user, org, reading)
                    other = org if acc == user else user
                    if other not in accounts_set or carried.get(other, (-1, "", ZERO))[:2] > reading[:2]:
                        break
                    since = billable_since(histories(org), _from_ms(reading[0]))
                    if since is None:
                        break
                    earlier = self._rows(
                        f"SELECT {last} FROM {self._db}.events WHERE metric = 'storage_gb' "
                        f"AND account_id = {_lit(org)} AND org_id = {_lit(org)} AND user_id = {_lit(user)} "
                        f"AND timestamp < {_dt(since)} HAVING count() > 0"
                    )
                    if not earlier:
                        break
                    t, e, q = earlier[0][0]
                    reading = (int(t), e, Decimal(q))
                if org is None:
                    carry(user, None, reading)
        return {a: storage_gauge(carried[a][2] if a in carried else ZERO, inside.get(a, [])) for a in wanted}

    # -- rated_usage ---------------------------------------------------------------------------------

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

    def settled_billable(self, account_id: str, period: Period) -> list[tuple[str, str, datetime, Decimal]]:
        """(metric, dimension, hour, billable) of the period's settled lines that bill something."""
        sql = (
            "SELECT metric, dimension, hour, toString(sum(billable)) FROM "
            f"{self._db}.rated_usage FINAL WHERE kind = 'settled' AND account_id = {_lit(account_id)} "
            f"AND period_start = toDateTime({_lit(ch_datetime(period.start)[:19])}, 'UTC') AND billable > 0 "
            "GROUP BY metric, dimension, hour ORDER BY hour, metric, dimension"
        )
        return [(m, d, _utc(h), Decimal(b)) for m, d, h, b in self._rows(sql)]

    def billable_windows(self, since: datetime) -> list[tuple[str, str, str, datetime, Decimal]]:
        """(account, metric, dimension, hour, billable) of every settled hour from ``since`` that bills usage."""
        sql = (
            "SELECT account_id, metric, dimension, hour, toString(sum(billable)) FROM "
            f"{self._db}.rated_usage FINAL WHERE kind = 'settled' AND billable > 0 AND hour >= {_dt(since)} "
            "GROUP BY account_id, metric, dimension, hour ORDER BY hour, account_id, metric, dimension"
        )
        return [(a, m, d, _utc(h), Decimal(b)) for a, m, d, h, b in self._rows(sql)]

    def billable_in(self, start: datetime, end: datetime) -> list[tuple[str, str, str, Decimal]]:
        """(account, metric, dimension, billable) of each settled hour in [start, end) that bills usage."""
        sql = (
            "SELECT account_id, metric, dimension, toString(sum(billable)) FROM "
            f"{self._db}.rated_usage FINAL WHERE kind = 'settled' AND billable > 0 "
            f"AND hour >= {_dt(start)} AND hour < {_dt(end)} GROUP BY account_id, metric, dimension, hour"
        )
        return [(a, m, d, Decimal(b)) for a, m, d, b in self._rows(sql)]

    def reported_in(self, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
        """(account, meter) → acknowledged value of Stripe reports for windows in [start, end)."""
        sql = (
            "SELECT acc, mtr, sum(val) FROM (SELECT identifier, any(account_id) AS acc, any(meter) AS mtr, "
            f"any(value) AS val FROM {self._db}.stripe_reports WHERE outcome = 'acknowledged' "
            f"AND window_start >= {_dt(start)} AND window_start < {_dt(end)} GROUP BY identifier) GROUP BY acc, mtr"
        )
        return {(a, m): int(v) for a, m, v in self._rows(sql)}

    def final_lines(self, code: str, since: datetime) -> list[tuple[str, datetime, datetime, Decimal]]:
        """(account, period start, period end, quantity) of a line code on invoices of periods ending from ``since``."""
        sql = (
            "SELECT l.account_id, i.period_start, i.period_end, toString(sum(l.quantity)) "
            f"FROM {self._db}.invoice_lines AS l FINAL INNER JOIN {self._db}.invoices AS i FINAL "
            "ON l.invoice_id = i.invoice_id "
            f"WHERE l.code = {_lit(code)} AND i.period_end >= {_dt(since)} "
            "GROUP BY l.account_id, i.period_start, i.period_end"
        )
        return [(a, _utc(s), _utc(e), Decimal(q)) for a, s, e, q in self._rows(sql)]

    def period_totals(self, account_id: str, period_key: str, kind: str) -> dict[str, Decimal]:
        """Quantity per metric of an account's period: ``settled`` or ``provisional`` (the live view)."""
        return self.period_totals_many([account_id], period_key, kind).get(account_id, {})

    def period_totals_many(self, accounts: Iterable[str], period_key: str, kind: str) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        for chunk in _chunks(accounts):
            sql = (
                f"SELECT account_id, metric, toString(sum(quantity)) FROM {self._db}.rated_usage FINAL "
                f"WHERE account_id IN {_in_list(chunk)} AND period = {_lit(period_key)} AND kind = {_lit(kind)} "
                "AND metric IN ('api_calls', 'ai_requests', 'premium_feature') GROUP BY account_id, metric"
            )
            for a, m, q in self._rows(sql):
                out.setdefault(a, {})[m] = Decimal(q)
        return out

    def write_diffs(
        self, account_id: str, period_key: str, diffs: dict[str, tuple[Decimal, Decimal]], at: datetime
    ) -> None:
        self._insert(
            "settlement_diffs",
            [
                {
                    "account_id": account_id,
                    "period": period_key,
                    "metric": metric,
                    "live_quantity": f"{live:f}",
                    "settled_quantity": f"{settled:f}",
                    "difference": f"{live - settled:f}",
                    "found_at": ch_datetime(at),
                }
                for metric, (live, settled) in sorted(diffs.items())
            ],
        )

    # -- invoices --------------------------------------------------------------------------------------

    def finalized(self, account_id: str, period_key: str) -> FinalizedInvoice | None:
        return self.finalized_many([account_id], period_key).get(account_id)

    def finalized_many(self, accounts: Iterable[str], period_key: str) -> dict[str, FinalizedInvoice]:
        out = {}
        for chunk in _chunks(accounts):
            for acc, document in self._rows(
                f"SELECT account_id, document FROM {self._db}.invoices FINAL WHERE account_id IN {_in_list(chunk)} "
                f"AND period = {_lit(period_key)} AND status = 'final'"
            ):
                doc = orjson.loads(document)
                lines: dict[str, tuple[Decimal, Decimal]] = {}
                for ln in doc["lines"]:
                    if not ln["code"].startswith("correction:"):
                        q, a = lines.get(ln["code"], (ZERO, ZERO))
                        lines[ln["code"]] = (q + Decimal(ln["quantity"]), a + Decimal(ln["amount"]))
                out[acc] = FinalizedInvoice(doc, lines)
        return out

    def finalized_periods(self, account_id: str) -> set[str]:
        return self.finalized_periods_many([account_id]).get(account_id, set())

    def finalized_periods_many(self, accounts: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in _chunks(accounts):
            for acc, period in self._rows(
                f"SELECT DISTINCT account_id, period FROM {self._db}.invoices WHERE account_id IN {_in_list(chunk)}"
            ):
                out.setdefault(acc, set()).add(period)
        return out

    def write_invoice(self, inv: Invoice, tier: str, finalized_at: datetime) -> str:
        return self.write_invoices([(inv, tier)], finalized_at)[0]

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

    def corrections_for(self, account_id: str, target_period: str) -> list[Correction]:
        return self.corrections_many([account_id], target_period).get(account_id, [])

    def corrections_many(self, accounts: Iterable[str], target_period: str) -> dict[str, list[Correction]]:
        out: dict[str, list[Correction]] = {}
        for chunk in _chunks(accounts):
            sql = (
                "SELECT account_id, source_period, code, toString(quantity), toString(amount) FROM "
                f"{self._db}.invoice_corrections FINAL WHERE account_id IN {_in_list(chunk)} "
                f"AND target_period = {_lit(target_period)} AND amount != 0 ORDER BY source_period, code"
            )
            for acc, src, code, q, amt in self._rows(sql):
                qty = Decimal(q) if Decimal(q) else Decimal(1)
                out.setdefault(acc, []).append(Correction(code, f"Correction of {src}: {code}", Decimal(amt), qty))
        return out

    def corrected(self, account_id: str, source_period: str) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(code, target period) → (quantity, amount) already carried for a finalized period."""
        sql = (
            "SELECT code, target_period, toString(quantity), toString(amount) FROM "
            f"{self._db}.invoice_corrections FINAL WHERE account_id = {_lit(account_id)} "
            f"AND source_period = {_lit(source_period)}"
        )
        return {(c, t): (Decimal(q), Decimal(a)) for c, t, q, a in self._rows(sql)}

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
